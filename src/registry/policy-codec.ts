// Registry: how a ServicePolicy is keyed and serialised in a RegistryBackend, beside the instances.
import { servicePolicySchema, type ServicePolicy } from '../model/index.js';

export const POLICY_PREFIX = 'policies/';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function policyKey(service: string): string {
  return POLICY_PREFIX + service;
}

export function serviceFromPolicyKey(key: string): string {
  return key.slice(POLICY_PREFIX.length);
}

export function encodePolicy(policy: ServicePolicy): Uint8Array {
  return encoder.encode(JSON.stringify(policy));
}

/** undefined when the stored bytes are not a valid policy (written by a newer or broken writer). */
export function decodePolicy(value: Uint8Array): ServicePolicy | undefined {
  try {
    const parsed = servicePolicySchema.safeParse(JSON.parse(decoder.decode(value)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
