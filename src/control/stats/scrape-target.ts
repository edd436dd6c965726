// Control stats: where a sidecar's /metrics is scraped — the instance's own host, at the port its `weft.admin` meta names.
import { ADMIN_META_KEY, parseHostPort, printable, type HostPolicy, type Instance } from '../../model/index.js';
import { isLocalOnlyAddress, ownHostRefusal } from '../instance-address.js';

export type ScrapeTarget = { readonly ok: true; readonly host: string; readonly port: number } | { readonly ok: false; readonly reason: string };

/**
 * The address to scrape for an instance, or why it is not scraped. Anyone who may register an instance writes its
 * meta, so the meta chooses only the port: the host is the instance's own, which the registry's host policy vetted
 * (and which is checked again here, for records older than that policy).
 */
export function scrapeTarget(instance: Instance, policy: HostPolicy): ScrapeTarget {
  const text = instance.meta[ADMIN_META_KEY] ?? '';
  const parsed = parseHostPort(text);
  if (!parsed.ok) return { ok: false, reason: `${ADMIN_META_KEY}: ${parsed.reason}` };
  // A sidecar whose admin listener is on loopback or on every interface advertises that address: its port on the instance's host is meant.
  const host = isLocalOnlyAddress(parsed.host) ? instance.host : parsed.host;
  const refusal = ownHostRefusal(host, instance.host, policy);
  return refusal === undefined ? { ok: true, host: instance.host, port: parsed.port } : { ok: false, reason: `${ADMIN_META_KEY} ${printable(text)}: ${refusal}` };
}
