// Registry: how an Instance is keyed and serialised in a RegistryBackend.
import { instanceSchema, type Instance } from '../model/index.js';

export const INSTANCE_PREFIX = 'instances/';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function instanceKey(id: string): string {
  return INSTANCE_PREFIX + id;
}

export function idFromKey(key: string): string {
  return key.slice(INSTANCE_PREFIX.length);
}

export function encodeInstance(instance: Instance): Uint8Array {
  return encoder.encode(JSON.stringify(instance));
}

/** undefined when the stored bytes are not an Instance (written by a newer or broken writer). */
export function decodeInstance(value: Uint8Array): Instance | undefined {
  try {
    const parsed = instanceSchema.safeParse(JSON.parse(decoder.decode(value)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
