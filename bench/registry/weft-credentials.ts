// Bench (registry): the credential the load shows a weft control plane — the admin token it wrote to its data dir, none under --dev.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../../src/control/auth/admin-token-file.js';
import type { Target } from './worker-messages.js';

/**
 * The admin token a non-dev `weft control` wrote to `<dataDir>/admin.token` before it answered /healthz, read as
 * the CLI reads it. The bench starts every control plane on a fresh store, so the file is always this start's.
 */
export async function readAdminToken(dataDir: string): Promise<string> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  const token = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (token === '') throw new Error(`weft control wrote no admin token to ${file}: every registration would be refused (401)`);
  return token;
}

/** The headers that authenticate a request to `target`: a bearer admin token, or nothing for `weft control --dev`. */
export function authHeaders(target: Extract<Target, { kind: 'weft' }>): Record<string, string> {
  return target.token === undefined ? {} : { authorization: `Bearer ${target.token}` };
}
