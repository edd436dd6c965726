// Control Consul: the Consul-compatible HTTP API (agent, catalog, health, status) served by the control plane.
export { ConsulApi, type ConsulApiOptions } from './consul-routes.js';
export { ConsulAgent, type CheckView, type ConsulAgentOptions } from './consul-agent.js';
export { parseServiceDefinition, type CheckDefinition, type CheckKind, type ConsulStatus, type ServiceDefinition } from './service-definition.js';
export { parseDuration, formatDuration } from './duration.js';
export { consulIndex, parseBlockingQuery, DEFAULT_WAIT_MS, MAX_WAIT_MS, type BlockingQuery } from './blocking-query.js';
export { CONSUL_INDEX_HEADER } from './consul-reply.js';
