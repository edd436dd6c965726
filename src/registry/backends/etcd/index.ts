// etcd store: the registry backend for control planes that share state on an etcd cluster.
export { EtcdBackend } from './etcd-backend.js';
export { parseEtcdUrl, DEFAULT_ETCD_PREFIX, type EtcdLocation } from './etcd-url.js';
