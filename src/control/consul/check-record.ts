// Consul API: check definitions kept in the instance's reserved meta keys, so a restarted (or another) control plane runs them again.
import { z } from 'zod';
import { ValidationError } from '../../core/index.js';
import { CHECK_RECORD_META_PREFIX, printable, type Instance } from '../../model/index.js';
import { RESERVED_META_PREFIX, type CheckDefinition } from './service-definition.js';

/** Marks an instance registered through the Consul API: the control plane keeps it alive and runs its checks. */
export const AGENT_META_KEY = `${RESERVED_META_PREFIX}agent`;
const CHECK_META_PREFIX = CHECK_RECORD_META_PREFIX;
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

/**
 * A recorded check: its definition, or why the record does not read back (written by another version, or by hand).
 * An unreadable record still shows as a check, critical, so that it never reads as passing by going missing.
 */
export type CheckRecord =
  | { readonly id: string; readonly name: string; readonly def: CheckDefinition; readonly unreadable?: undefined }
  | { readonly id: string; readonly name: string; readonly def?: undefined; readonly unreadable: string };

/** The checks recorded on an instance, in record order; reading never throws. */
export function readCheckRecords(instance: Instance): CheckRecord[] {
  const out: CheckRecord[] = [];
  for (const [key, value] of Object.entries(instance.meta)) {
    if (!key.startsWith(CHECK_META_PREFIX)) continue;
    out.push(decode(value, `service:${instance.id}:${key.slice(RESERVED_META_PREFIX.length)}`));
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

/** The shape a record must have to be used at all; whether an HTTP/TCP check may run is decided per run (check-target.ts). */
const recordSchema = z
  .looseObject({
    id: z.string().min(1).max(256),
    name: z.string().max(256),
    kind: z.enum(['ttl', 'http', 'tcp']),
    initial: z.enum(['passing', 'warning', 'critical']),
    ttlMs: z.number().positive().optional(),
    target: z.string().optional(),
    intervalMs: z.number().optional(),
    timeoutMs: z.number().optional(),
    method: z.string().optional(),
    headers: z.record(z.string(), z.array(z.string())).optional(),
    tlsSkipVerify: z.boolean().optional(),
    deregisterAfterMs: z.number().nonnegative().optional(),
  })
  .refine((v) => (v.kind === 'ttl' ? v.ttlMs !== undefined : v.target !== undefined), 'a TTL check without ttlMs, or an HTTP/TCP check without target');

function decode(text: string, fallbackId: string): CheckRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { id: fallbackId, name: 'unreadable check record', unreadable: 'the stored check record is not JSON' };
  }
  const parsed = recordSchema.safeParse(value);
  if (parsed.success) return { id: parsed.data.id, name: parsed.data.name, def: parsed.data };
  const raw = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const id = typeof raw.id === 'string' && raw.id !== '' && raw.id.length <= 256 ? raw.id : fallbackId;
  const name = typeof raw.name === 'string' && raw.name.length <= 256 ? raw.name : 'unreadable check record';
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return { id, name, unreadable: `the stored check record does not read back (${printable(where + (issue?.message ?? 'invalid'))})` };
}
