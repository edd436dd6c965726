// Registry: the in-memory view of stored service policies, loaded from a listing and kept current from backend changes.
import type { Logger } from 'pino';
import { ValidationError } from '../core/index.js';
import { parsePolicy, type ServicePolicy, type WatchEvent } from '../model/index.js';
import type { BackendEvent, Versioned } from './backend.js';
import { decodePolicy, serviceFromPolicyKey } from './policy-codec.js';

export class PolicyTable {
  private readonly byService = new Map<string, ServicePolicy>();
  /** Revision of the last listing: changes at or below it are already in the table (the watch may replay them). */
  private listedAt = 0;

  constructor(private readonly logger: Logger) {}

  load(revision: number, items: readonly Versioned[]): void {
    this.byService.clear();
    this.listedAt = revision;
    for (const item of items) {
      const policy = decodePolicy(item.value);
      if (policy) this.byService.set(policy.service, policy);
      else this.logger.warn({ key: item.key }, 'skipping a stored value that is not a policy');
    }
  }

  /** Applies one backend change under the policy prefix; returns the watch event it amounts to, if any. */
  apply(event: BackendEvent): WatchEvent | undefined {
    if (event.version <= this.listedAt) return undefined;
    const service = serviceFromPolicyKey(event.key);
    if (event.type === 'delete') {
      if (!this.byService.delete(service)) return undefined;
      return { type: 'policy-remove', version: event.version, service };
    }
    const policy = decodePolicy(event.value);
    if (!policy || policy.service !== service) {
      this.logger.warn({ key: event.key }, 'ignoring a stored value that is not a policy');
      return undefined;
    }
    this.byService.set(service, policy);
    return { type: 'policy', version: event.version, policy };
  }

  get(service: string): ServicePolicy | undefined {
    return this.byService.get(service);
  }

  all(): ServicePolicy[] {
    return [...this.byService.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  }
}

/**
 * Validates a policy from an API body; the service named in the path fills in a missing `service` and must match a given one.
 */
export function policyFromRequest(input: unknown, pathService: string | undefined): ServicePolicy {
  let body = input;
  if (pathService !== undefined && input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const given = (input as { service?: unknown }).service;
    if (given === undefined) body = { ...input, service: pathService };
    else if (given !== pathService) throw new ValidationError('service', `"${String(given)}" does not match the service in the path ("${pathService}")`);
  }
  if (body === undefined) throw new ValidationError('', 'expected a JSON policy body');
  return parsePolicy(body);
}
