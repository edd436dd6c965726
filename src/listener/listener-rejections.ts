// Listener: counts of what a listener refused, by reason, and a log of them that cannot flood.
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

export type RejectionReason =
  | 'bad_request'
  | 'request_timeout'
  | 'headers_too_large'
  | 'payload_too_large'
  | 'connection_limit'
  | 'http2_prior_knowledge'
  | 'connect'
  | 'upgrade'
  | 'http2_abuse';

export const REJECTION_REASONS: readonly RejectionReason[] = ['bad_request', 'request_timeout', 'headers_too_large', 'payload_too_large', 'connection_limit', 'http2_prior_knowledge', 'connect', 'upgrade', 'http2_abuse'];

const METRIC = 'weft_listener_rejected_total';
/** Lines logged per listener per window; the rest are summed into the next line. */
const LOG_BURST = 10;
const LOG_WINDOW_MS = 60_000;

function counterOf(registry: Registry): Counter<'listener' | 'reason'> {
  const existing = registry.getSingleMetric(METRIC);
  if (existing instanceof Counter) return existing as Counter<'listener' | 'reason'>;
  return new Counter({
    name: METRIC,
    help: 'Requests and connections a listener refused before they reached weft, by listener and reason (malformed heads, timeouts, oversized heads, the connection cap, HTTP/2 prior knowledge, CONNECT, upgrades, HTTP/2 sessions closed for abuse: reset floods, unacknowledged settings).',
    labelNames: ['listener', 'reason'],
    registers: [registry],
  });
}

export class ListenerRejections {
  private readonly children: Map<RejectionReason, ReturnType<Counter<'listener' | 'reason'>['labels']>>;
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;

  constructor(
    private readonly listener: string,
    registry: Registry,
    private readonly logger: Logger,
  ) {
    const counter = counterOf(registry);
    this.children = new Map(REJECTION_REASONS.map((reason) => [reason, counter.labels(listener, reason)]));
    // Every series exists from the start, so that a rate over the first refusal is seen.
    for (const child of this.children.values()) child.inc(0);
  }

  record(reason: RejectionReason, message: string): void {
    this.children.get(reason)!.inc();
    const now = Date.now();
    if (now - this.windowStart >= LOG_WINDOW_MS) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged >= LOG_BURST) {
      this.suppressed++;
      return;
    }
    this.logged++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.logger.warn({ listener: this.listener, reason, ...(suppressed > 0 ? { suppressed } : {}) }, message);
  }
}
