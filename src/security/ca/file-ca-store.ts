// Security CA: CA state in the data dir — <data-dir>/ca/state.json and the trust bundle, owner-only (dir 0700, files 0600).
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VersionConflictError } from '../../core/index.js';
import { decodeState, encodeState, type CaStateDocument } from './ca-state.js';
import type { CaStore, StoredState } from './ca-store.js';
import { x509 } from './x509-provider.js';

export const CA_DIR = 'ca';
export const STATE_FILE = 'state.json';
/** The roots, for operators and tools that need to trust the mesh (e.g. `curl --cacert`). */
export const BUNDLE_FILE = 'trust-bundle.pem';

/**
 * One control plane owns a data dir (the embedded store locks it), so compare-and-set only has to guard against this
 * process's own concurrent writers; the state's revision is the version.
 */
export class FileCaStore implements CaStore {
  readonly location: string;
  private readonly dir: string;
  /** Compare and write happen one at a time, so two changes in this process cannot both pass the comparison. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    this.dir = join(dataDir, CA_DIR);
    this.location = join(this.dir, STATE_FILE);
  }

  async load(): Promise<StoredState | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const state = decodeState(bytes, this.location);
    return { state, version: state.revision };
  }

  createIfAbsent(state: CaStateDocument): Promise<StoredState> {
    return this.serially(async () => {
      const existing = await this.load();
      if (existing) return existing;
      await this.write(state);
      return { state, version: state.revision };
    });
  }

  replace(state: CaStateDocument, version: number): Promise<number> {
    return this.serially(async () => {
      const current = await this.load();
      const actual = current?.version ?? 0;
      if (actual !== version) throw new VersionConflictError(this.location, version, actual);
      await this.write(state);
      return state.revision;
    });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.writes.then(work, work);
    this.writes = result.catch(() => undefined);
    return result;
  }

  /** Written to a temporary file, synced, then renamed: a crash leaves the old state or the new one, never half of either. */
  private async write(state: CaStateDocument): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // mkdir keeps an existing directory's mode, and the umask may have widened a new one.
    await chmod(this.dir, 0o700);
    await writeOwnerOnly(join(this.dir, BUNDLE_FILE), bundlePem(state));
    await writeOwnerOnly(this.location, encodeState(state));
  }
}

function bundlePem(state: CaStateDocument): string {
  return state.authorities.map((a) => new x509.X509Certificate(a.certificatePem).toString('pem')).join('\n') + '\n';
}

async function writeOwnerOnly(path: string, content: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
