// Control CA: the CA's state under the `ca/` prefix of the registry backend, so every control plane on one etcd shares one CA.
import { VersionConflictError, type RegistryBackend } from '../../registry/index.js';
import { decodeState, encodeState, type CaStateDocument, type CaStore, type StoredState } from '../../security/ca/index.js';

export const CA_STATE_KEY = 'ca/state';

/**
 * The private keys are stored in the backend: whoever can read the backend (etcd) holds the CA. Protect etcd with TLS
 * client auth and its own access control, or give the control planes an external intermediate (`--ca-cert/--ca-key`).
 */
export class BackendCaStore implements CaStore {
  readonly location: string;

  constructor(
    private readonly backend: RegistryBackend,
    private readonly key = CA_STATE_KEY,
  ) {
    this.location = `registry key ${key}`;
  }

  async load(): Promise<StoredState | undefined> {
    const { items } = await this.backend.list(this.key);
    const item = items.find((entry) => entry.key === this.key);
    return item ? { state: decodeState(item.value, this.location), version: item.version } : undefined;
  }

  async createIfAbsent(state: CaStateDocument): Promise<StoredState> {
    try {
      const version = await this.backend.put(this.key, encodeState(state), { ifVersion: 0 });
      return { state, version };
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      // Another control plane created the CA first: use theirs.
      const stored = await this.load();
      if (!stored) throw error;
      return stored;
    }
  }

  replace(state: CaStateDocument, version: number): Promise<number> {
    return this.backend.put(this.key, encodeState(state), { ifVersion: version });
  }
}
