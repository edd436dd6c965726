// Consul API: check definitions kept in the instance's reserved meta keys, so a restarted (or another) control plane runs them again.
import { ValidationError } from '../../core/index.js';
import type { Instance } from '../../model/index.js';
import { RESERVED_META_PREFIX, type CheckDefinition, type CheckKind, type ConsulStatus } from './service-definition.js';

/** Marks an instance registered through the Consul API: the control plane keeps it alive and runs its checks. */
export const AGENT_META_KEY = `${RESERVED_META_PREFIX}agent`;
const CHECK_META_PREFIX = `${RESERVED_META_PREFIX}check-`;
const MAX_META_VALUE = 512;

/** The reserved meta entries that record these checks. */
export function checkRecords(checks: readonly CheckDefinition[], fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = { [AGENT_META_KEY]: '1' };
  checks.forEach((check, i) => {
    const text = JSON.stringify(check);
    if (text.length > MAX_META_VALUE) throw new ValidationError(fields[i] ?? 'Checks', `the check definition is too long to keep (over ${MAX_META_VALUE} characters)`);
    out[`${CHECK_META_PREFIX}${i + 1}`] = text;
  });
  return out;
}

export function isAgentManaged(instance: Instance): boolean {
  return instance.meta[AGENT_META_KEY] !== undefined;
}

/** The checks recorded on an instance; a record that does not read back is skipped rather than failing the whole service. */
export function readCheckRecords(instance: Instance): CheckDefinition[] {
  const out: CheckDefinition[] = [];
  for (const [key, value] of Object.entries(instance.meta)) {
    if (!key.startsWith(CHECK_META_PREFIX)) continue;
    const check = decode(value);
    if (check) out.push(check);
  }
  return out;
}

/** The user's meta, without weft's reserved records. */
export function publicMeta(meta: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) if (!key.startsWith(RESERVED_META_PREFIX)) out[key] = value;
  return out;
}

/** A fingerprint of the recorded checks: a new one means the service was registered again with other checks. */
export function recordsFingerprint(instance: Instance): string {
  let out = '';
  for (const [key, value] of Object.entries(instance.meta)) if (key.startsWith(RESERVED_META_PREFIX)) out += `${key}=${value}\n`;
  return out;
}

const KINDS: ReadonlySet<string> = new Set<CheckKind>(['ttl', 'http', 'tcp']);
const STATUSES: ReadonlySet<string> = new Set<ConsulStatus>(['passing', 'warning', 'critical']);

function decode(text: string): CheckDefinition | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.name !== 'string' || typeof v.kind !== 'string' || !KINDS.has(v.kind)) return undefined;
  if (typeof v.initial !== 'string' || !STATUSES.has(v.initial)) return undefined;
  if (v.kind === 'ttl' ? typeof v.ttlMs !== 'number' : typeof v.target !== 'string' || typeof v.intervalMs !== 'number' || typeof v.timeoutMs !== 'number') return undefined;
  return value as CheckDefinition;
}
