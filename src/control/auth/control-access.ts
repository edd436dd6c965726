// Control auth: what a control plane sets up for authentication on start — its token store, the admin token bootstrap, the authenticator.
import type { Runtime } from '../../core/index.js';
import type { RegistryBackend } from '../../registry/index.js';
import { bootstrapAdminToken, type AdminTokenBootstrap } from './admin-token-file.js';
import { ControlAuthenticator, type WorkloadTrustSource } from './authenticator.js';
import { TokenStore } from './token-store.js';

export interface ControlAccessOptions {
  readonly dev: boolean;
  readonly openRead: boolean;
  readonly workloadTrust?: WorkloadTrustSource;
  /** Where the admin token file goes (the data dir, whatever the store). */
  readonly dataDir: string;
}

export interface ControlAccess {
  readonly tokens: TokenStore;
  readonly authenticator: ControlAuthenticator;
  /** Undefined under dev: no admin token is needed, none is made. */
  readonly bootstrap?: AdminTokenBootstrap;
}

export async function openControlAccess(backend: RegistryBackend, options: ControlAccessOptions, runtime: Runtime): Promise<ControlAccess> {
  const tokens = new TokenStore(backend, runtime.clock);
  const bootstrap = options.dev ? undefined : await bootstrapAdminToken(tokens, options.dataDir, runtime.logger);
  const authenticator = new ControlAuthenticator({
    tokens,
    dev: options.dev,
    openRead: options.openRead,
    ...(options.workloadTrust === undefined ? {} : { workloadTrust: options.workloadTrust }),
    clock: runtime.clock,
    metrics: runtime.metrics,
  });
  return { tokens, authenticator, ...(bootstrap === undefined ? {} : { bootstrap }) };
}
