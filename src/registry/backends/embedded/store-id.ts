// Embedded store: the store's identity, created once beside the log and kept for its life.
import { randomUUID } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export const STORE_ID_FILE = 'store-id';

export async function readOrCreateStoreId(dir: string): Promise<string> {
  const path = join(dir, STORE_ID_FILE);
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    if (existing) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const id = randomUUID();
  // Written to a temp file, synced and renamed, so a crash never leaves an empty or partial id behind.
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(`${id}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  return id;
}
