// Test support: real headless Chromium (Debian `chromium`) driven by playwright-core, with a fresh profile per launch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { requireBinary } from './binaries.js';

/** Flags that keep Chromium quiet and self-contained on a build machine: no sandbox (containers), no GPU, no calls home. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** The Chromium binary, or undefined (after a loud notice) where it is missing and cannot be installed; see requireBinary. */
export function requireChromium(purpose: string): Promise<string | undefined> {
  return requireBinary('chromium', { aptPackage: 'chromium', purpose });
}

export async function launchChromium(executablePath: string, viewport = { width: 1280, height: 900 }): Promise<HeadlessChromium> {
  const profile = await mkdtemp(join(tmpdir(), 'weft-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath, args: CHROMIUM_ARGS, viewport, timeout: 30_000 });
    return {
      context,
      close: async () => {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
