// Dashboard: headless Chromium on a bare control plane with API authentication — asking for a token, following the registry across a restart, and sidecars whose stats cannot be read.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, launchChromium, requireChromium, stopProcess, waitForHttp, type HeadlessChromium, type ManagedProcess } from '../support/index.js';
import { adminTokenOf, startWeft } from '../e2e/weft-cli.js';

const chromiumPath = await requireChromium('the dashboard tests in headless Chromium');

describe.skipIf(chromiumPath === undefined)('dashboard on a bare control plane', () => {
  let dir: string;
  let control: ManagedProcess | undefined;
  let controlUrl: string;
  let token: string;
  let browser: HeadlessChromium;
  let page: Page;
  const pageErrors: string[] = [];

  const startControl = async () => {
    control = startWeft('control', ['control', '--listen', controlUrl.slice('http://'.length), '--data-dir', join(dir, 'data')]);
    await waitForHttp(`${controlUrl}/healthz`, 15_000, { process: control });
    token = await adminTokenOf(join(dir, 'data'));
  };
  const register = async (id: string, service: string, meta: Record<string, string> = {}) => {
    const res = await fetch(`${controlUrl}/api/v1/instances/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ service, host: '127.0.0.1', port: 9, ttlMs: 120_000, meta }),
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(201);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-dashboard-restart-'));
    const [port] = await freePorts(1);
    controlUrl = `http://127.0.0.1:${port}`;
    await startControl();
    browser = await launchChromium(chromiumPath!);
    page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (control) await stopProcess(control);
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('says when the stream is down, resumes when the control plane is back, and shows what changed since', async () => {
    await register('alpha-1', 'alpha');
    await page.goto(`${controlUrl}/`);
    // Reads need a token here: the page asks for one once, however many of its requests were refused.
    await page.locator('#token-form').waitFor();
    expect(await page.locator('#token-form').count()).toBe(1);
    await page.locator('#token-form input').fill(token);
    await page.locator('#token-form button').click();
    await page.locator('tr[data-service="alpha"]').waitFor();
    expect(await page.locator('#token-form').count()).toBe(0);
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^registry live/);

    await stopProcess(control!);
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^registry reconnecting/);
    expect(await page.locator('#status').getAttribute('class')).toContain('down');
    // What the page knew stays on screen while the control plane is away.
    expect(await page.locator('tr[data-service="alpha"]').count()).toBe(1);

    await startControl();
    // The token kept in sessionStorage still works after the restart: the page does not ask again.
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^registry live/);
    expect(await page.locator('#token-form').count()).toBe(0);
    await register('beta-1', 'beta');
    await page.locator('tr[data-service="beta"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('tr[data-service="alpha"]').count()).toBe(1);
  }, 60_000);

  it('says why an instance has no numbers when its sidecar cannot be scraped', async () => {
    // A port that was free a moment ago: nothing answers there.
    const [closed] = await freePorts(1);
    await register('gamma-1', 'gamma', { 'weft.admin': `127.0.0.1:${closed}` });
    await page.locator('tr[data-service="gamma"] a').click();
    const skipped = page.locator('tr[data-instance="gamma-1"] [data-skipped]');
    await expect.poll(() => skipped.textContent(), { timeout: 10_000 }).toMatch(/^unreachable: /);
    expect(await page.locator('tr[data-instance="gamma-1"] [data-stat="rps"]').textContent()).toBe('–');
  }, 30_000);

  it('shows the service list for a hash it cannot read, without a script error', async () => {
    await page.goto(`${controlUrl}/#/services/%zz`);
    await page.locator('h1', { hasText: 'Services' }).waitFor();
    await page.locator('tr[data-service="alpha"]').waitFor();
    expect(pageErrors).toEqual([]);
  });
});
