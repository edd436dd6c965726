// Control auth: the admin token a non-dev control plane makes on its first start, written to <data-dir>/admin.token (0600) for the operator.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { TokenStore } from './token-store.js';

export const ADMIN_TOKEN_FILE = 'admin.token';

export interface AdminTokenBootstrap {
  /** The admin token, when this start made it or the file holds a valid one. */
  readonly token?: string;
  readonly file: string;
  /** True when this start made the token and wrote the file. */
  readonly created: boolean;
}

/**
 * Makes an admin token unless the store already holds one (another control plane on the same etcd made it, or an
 * operator did): the first operator needs one credential to create every other, and only the store can say whether
 * that credential exists. The log names the file, never the token.
 */
export async function bootstrapAdminToken(tokens: TokenStore, dataDir: string, logger: Logger): Promise<AdminTokenBootstrap> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await readTokenFile(file);
  if (existing !== undefined) {
    const checked = await tokens.check(existing);
    if (checked.ok && checked.info.kind === 'admin') return { token: existing, file, created: false };
  }
  if (await tokens.hasAdmin()) {
    logger.info({ file }, 'the store already holds an admin token; not writing an admin token file');
    return { file, created: false };
  }
  const { token, info } = await tokens.create({ kind: 'admin', description: 'made on first start' });
  await writeSecretFile(dataDir, file, `${token}\n`);
  logger.info({ file, tokenId: info.id }, 'made an admin token and wrote it to the admin token file');
  return { token, file, created: true };
}

/**
 * Creates the data dir private (0700) when it does not exist yet, before the embedded store creates it with default
 * permissions: it will hold the admin token. Failures are left to the store, which reports them with its own words.
 */
export async function createPrivateDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch(() => undefined);
}

async function readTokenFile(file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Write to a private temporary file, then rename: a reader sees the whole token or none, and never a world-readable one. */
async function writeSecretFile(dir: string, file: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
