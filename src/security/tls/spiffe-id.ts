// Security/TLS: workload SPIFFE ids (spiffe://<trust-domain>/service/<name>) and reading the one a certificate carries.
import { ValidationError } from '../../core/index.js';

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SERVICE_NAME = /^[A-Za-z0-9._-]+$/;
const SERVICE_ID = /^spiffe:\/\/([a-z0-9._-]+)\/service\/([A-Za-z0-9._-]+)$/;

export interface ServiceSpiffeId {
  readonly trustDomain: string;
  readonly service: string;
}

/** The SPIFFE id of a service in a trust domain; invalid parts are a ValidationError naming the part. */
export function serviceSpiffeId(trustDomain: string, service: string): string {
  if (!TRUST_DOMAIN.test(trustDomain)) throw new ValidationError('trustDomain', 'lower-case letters, digits, ".", "_" and "-" only');
  if (!SERVICE_NAME.test(service)) throw new ValidationError('service', 'letters, digits, ".", "_" and "-" only');
  return `spiffe://${trustDomain}/service/${service}`;
}

/** The trust domain and service of a workload id, or null when `id` is not one. */
export function parseServiceSpiffeId(id: string): ServiceSpiffeId | null {
  const match = SERVICE_ID.exec(id);
  return match === null ? null : { trustDomain: match[1] as string, service: match[2] as string };
}

/**
 * The SPIFFE id in a certificate's subject alternative names, as node:crypto and node:tls render them
 * (`URI:spiffe://…, DNS:…`, with JSON-quoted values when they hold separators). An SVID carries exactly
 * one URI SAN: none, several, or one that is not a spiffe:// URI gives null.
 */
export function spiffeIdOfSubjectAltName(subjectAltName: string | undefined): string | null {
  if (!subjectAltName) return null;
  let found: string | null = null;
  for (const entry of splitSubjectAltName(subjectAltName)) {
    if (!entry.startsWith('URI:')) continue;
    if (found !== null) return null;
    found = unquote(entry.slice(4));
  }
  return found !== null && found.startsWith('spiffe://') ? found : null;
}

function splitSubjectAltName(text: string): string[] {
  const entries: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (char === ',' && !quoted) {
      entries.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  entries.push(text.slice(start).trim());
  return entries;
}

function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'string' ? parsed : value;
  } catch {
    return value;
  }
}
