// Consul API: weft instances in Consul's reply shapes — AgentService, CatalogService, ServiceEntry and HealthCheck.
import type { Instance } from '../../model/index.js';
import type { CheckView } from './consul-agent.js';
import { publicMeta } from './check-record.js';
import { formatDuration } from './duration.js';

export const DATACENTER = 'dc1';

/** The Consul node every instance appears on: this control plane, as the client reached it. */
export interface ConsulNode {
  readonly id: string;
  readonly name: string;
  readonly address: string;
}

export function agentService(instance: Instance): Record<string, unknown> {
  return {
    Kind: '',
    ID: instance.id,
    Service: instance.service,
    Tags: [...instance.tags],
    Meta: publicMeta(instance.meta),
    Port: instance.port,
    Address: instance.host,
    TaggedAddresses: {},
    Weights: { Passing: instance.weight, Warning: 1 },
    EnableTagOverride: false,
    Datacenter: DATACENTER,
  };
}

export function catalogService(instance: Instance, node: ConsulNode): Record<string, unknown> {
  return {
    ID: node.id,
    Node: node.name,
    Address: node.address,
    Datacenter: DATACENTER,
    TaggedAddresses: { lan: node.address, wan: node.address },
    NodeMeta: {},
    ServiceKind: '',
    ServiceID: instance.id,
    ServiceName: instance.service,
    ServiceTags: [...instance.tags],
    ServiceAddress: instance.host,
    ServiceTaggedAddresses: {},
    ServiceWeights: { Passing: instance.weight, Warning: 1 },
    ServiceMeta: publicMeta(instance.meta),
    ServicePort: instance.port,
    ServiceEnableTagOverride: false,
  };
}

export function healthCheck(check: CheckView, instance: Instance, node: ConsulNode): Record<string, unknown> {
  const def = check.definition;
  const definition: Record<string, unknown> = {};
  if (def?.kind === 'http') definition.HTTP = def.target;
  if (def?.kind === 'tcp') definition.TCP = def.target;
  if (def?.intervalMs !== undefined) definition.Interval = formatDuration(def.intervalMs);
  if (def?.timeoutMs !== undefined) definition.Timeout = formatDuration(def.timeoutMs);
  if (def?.ttlMs !== undefined) definition.TTL = formatDuration(def.ttlMs);
  return {
    Node: node.name,
    CheckID: check.id,
    Name: check.name,
    Status: check.status,
    Notes: '',
    Output: check.output,
    ServiceID: instance.id,
    ServiceName: instance.service,
    ServiceTags: [...instance.tags],
    Type: check.kind,
    Definition: definition,
  };
}

/** Consul lists the node's own Serf check with every service entry; this node is always alive while it answers. */
export function nodeCheck(node: ConsulNode): Record<string, unknown> {
  return {
    Node: node.name,
    CheckID: 'serfHealth',
    Name: 'Serf Health Status',
    Status: 'passing',
    Notes: '',
    Output: 'Agent alive and reachable',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    Definition: {},
  };
}

export function serviceEntry(instance: Instance, checks: readonly CheckView[], node: ConsulNode): Record<string, unknown> {
  return {
    Node: { ID: node.id, Node: node.name, Address: node.address, Datacenter: DATACENTER, TaggedAddresses: { lan: node.address, wan: node.address }, Meta: {} },
    Service: agentService(instance),
    Checks: [nodeCheck(node), ...checks.map((c) => healthCheck(c, instance, node))],
  };
}
