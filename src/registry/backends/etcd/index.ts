// etcd store: the registry backend for control planes that share state on an etcd cluster.
import type { Runtime } from '../../../core/index.js';
import type { EtcdBackend } from './etcd-backend.js';
import type { EtcdLocation } from './etcd-url.js';

export type { EtcdBackend } from './etcd-backend.js';
export { parseEtcdUrl, DEFAULT_ETCD_PREFIX, type EtcdLocation } from './etcd-url.js';

/** Connects to etcd. The client library (gRPC) loads only here, so commands that never use etcd start fast. */
export async function openEtcdBackend(location: EtcdLocation, runtime: Runtime): Promise<EtcdBackend> {
  const { EtcdBackend: Backend } = await import('./etcd-backend.js');
  return Backend.open(location, runtime);
}
