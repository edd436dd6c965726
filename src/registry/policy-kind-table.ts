// Registry: the in-memory view of stored policies of every table kind (AuthorizationPolicy, ...), keyed and serialised per the kind table.
import type { Logger } from 'pino';
import { ValidationError } from '../core/index.js';
import { parseAnyKindPolicy, parseKindPolicy, POLICY_KIND_TABLE, POLICY_KINDS, type KindPolicy, type PolicyKind, type WatchEvent } from '../model/index.js';
import type { BackendEvent, Versioned } from './backend.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function kindPolicyKey(kind: PolicyKind, service: string): string {
  return POLICY_KIND_TABLE[kind].keyPrefix + service;
}

/** The kind whose key prefix `key` starts with, if any. */
export function kindOfKey(key: string): PolicyKind | undefined {
  for (const kind of POLICY_KINDS) if (key.startsWith(POLICY_KIND_TABLE[kind].keyPrefix)) return kind;
  return undefined;
}

export function encodeKindPolicy(policy: KindPolicy): Uint8Array {
  return encoder.encode(JSON.stringify(policy));
}

/** undefined when the stored bytes are not a valid policy of that kind (written by a newer or broken writer). */
function decodeKindPolicy(kind: PolicyKind, value: Uint8Array): KindPolicy | undefined {
  try {
    const policy = parseAnyKindPolicy(JSON.parse(decoder.decode(value)));
    return policy.kind === kind ? policy : undefined;
  } catch {
    return undefined;
  }
}

export class PolicyKindTable {
  private readonly byKind = new Map<PolicyKind, Map<string, KindPolicy>>(POLICY_KINDS.map((kind) => [kind, new Map()]));
  /** Revision of the last listing per kind: changes at or below it are already in the table. */
  private readonly listedAt = new Map<PolicyKind, number>();

  constructor(private readonly logger: Logger) {}

  load(kind: PolicyKind, revision: number, items: readonly Versioned[]): void {
    const table = this.table(kind);
    table.clear();
    this.listedAt.set(kind, revision);
    for (const item of items) {
      const policy = decodeKindPolicy(kind, item.value);
      if (policy) table.set(policy.service, policy);
      else this.logger.warn({ key: item.key }, `skipping a stored value that is not an ${kind}`);
    }
  }

  /** Applies one backend change under a kind's prefix; returns the watch event it amounts to, if any. */
  apply(kind: PolicyKind, event: BackendEvent): WatchEvent | undefined {
    if (event.version <= (this.listedAt.get(kind) ?? 0)) return undefined;
    const table = this.table(kind);
    const service = event.key.slice(POLICY_KIND_TABLE[kind].keyPrefix.length);
    if (event.type === 'delete') {
      if (!table.delete(service)) return undefined;
      return { type: 'kind-policy-remove', version: event.version, kind, service };
    }
    const policy = decodeKindPolicy(kind, event.value);
    if (!policy || policy.service !== service) {
      this.logger.warn({ key: event.key }, `ignoring a stored value that is not an ${kind}`);
      return undefined;
    }
    table.set(service, policy);
    return { type: 'kind-policy', version: event.version, policy };
  }

  get(kind: PolicyKind, service: string): KindPolicy | undefined {
    return this.table(kind).get(service);
  }

  /** One kind's policies, or every kind's, sorted by kind then service. */
  all(kind?: PolicyKind): KindPolicy[] {
    const kinds = kind === undefined ? POLICY_KINDS : [kind];
    return kinds.flatMap((k) => [...this.table(k).values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0)));
  }

  private table(kind: PolicyKind): Map<string, KindPolicy> {
    return this.byKind.get(kind)!;
  }
}

/** Validates a policy of a table kind from an API body; the path's service fills in a missing `service` and must match a given one, and so must the kind. */
export function kindPolicyFromRequest(kind: PolicyKind, input: unknown, pathService: string): KindPolicy {
  if (input === undefined) throw new ValidationError('', `expected a JSON ${kind} body`);
  let body = input;
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const given = (input as { service?: unknown; kind?: unknown }).service;
    const givenKind = (input as { kind?: unknown }).kind;
    if (givenKind !== undefined && givenKind !== kind) throw new ValidationError('kind', `"${String(givenKind)}" does not match the kind of this path ("${kind}")`);
    if (given === undefined) body = { ...input, service: pathService };
    else if (given !== pathService) throw new ValidationError('service', `"${String(given)}" does not match the service in the path ("${pathService}")`);
  }
  return parseKindPolicy(kind, body);
}
