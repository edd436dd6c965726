// Control stats: reads the few series `weft stat` needs out of a sidecar's Prometheus text exposition.

const REQUESTS = 'weft_proxy_requests_total';
const BUCKETS = 'weft_proxy_request_duration_seconds_bucket';

/** Counters of one service as one sidecar served it (inbound direction), at one moment. */
export interface ServiceCounters {
  /** Requests by HTTP status code. */
  readonly codes: Map<string, number>;
  /** Cumulative latency buckets in seconds, by upper bound. */
  readonly buckets: Map<number, number>;
}

/** Inbound counters by service (the destination), summed over calling sources, read from one /metrics text. */
export function parseInboundCounters(text: string): Map<string, ServiceCounters> {
  const services = new Map<string, ServiceCounters>();
  const of = (service: string): ServiceCounters => {
    let counters = services.get(service);
    if (!counters) services.set(service, (counters = { codes: new Map(), buckets: new Map() }));
    return counters;
  };
  for (const line of text.split('\n')) {
    const isRequests = line.startsWith(REQUESTS + '{');
    const isBucket = !isRequests && line.startsWith(BUCKETS + '{');
    if (!isRequests && !isBucket) continue;
    const close = line.lastIndexOf('}');
    if (close < 0) continue;
    const value = Number(line.slice(close + 1).trim().split(' ')[0]);
    if (!Number.isFinite(value)) continue;
    const labels = parseLabels(line.slice(line.indexOf('{') + 1, close));
    const service = labels.get('destination');
    if (labels.get('direction') !== 'inbound' || service === undefined) continue;
    if (isRequests) {
      const code = labels.get('code') ?? '';
      const codes = of(service).codes;
      codes.set(code, (codes.get(code) ?? 0) + value);
    } else {
      const le = parseLe(labels.get('le'));
      if (le !== undefined) {
        const buckets = of(service).buckets;
        buckets.set(le, (buckets.get(le) ?? 0) + value);
      }
    }
  }
  return services;
}

function parseLe(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === '+Inf') return Infinity;
  const le = Number(text);
  return Number.isNaN(le) ? undefined : le;
}

/** Labels of the text format: name="value" pairs, values with \\, \" and \n escapes. */
export function parseLabels(text: string): Map<string, string> {
  const labels = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    while (text[i] === ',' || text[i] === ' ') i++;
    const eq = text.indexOf('=', i);
    if (eq < 0 || text[eq + 1] !== '"') break;
    const name = text.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      const ch = text[j]!;
      if (ch === '\\' && j + 1 < text.length) {
        const next = text[++j]!;
        value += next === 'n' ? '\n' : next;
      } else {
        value += ch;
      }
    }
    labels.set(name, value);
    i = j + 1;
  }
  return labels;
}
