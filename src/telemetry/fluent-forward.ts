// Telemetry: ships access-log records and component logs to Fluentd/Fluent Bit over the forward protocol, buffered, never blocking.
import { FluentClient } from '@fluent-org/logger';
import { pino, type DestinationStream, type Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock, Runtime } from '../core/index.js';

export interface FluentForwardOptions {
  host: string;
  port: number;
  /** Tag prefix: access lines go out as `TAG.access`, component logs as `TAG.log`. */
  tag?: string;
  registry: Registry;
  /** Stamps each event with its wall-clock time. */
  clock: Clock;
  /** Events held while the receiver is slow or away; beyond either bound the oldest are dropped and counted. */
  maxEvents?: number;
  maxBytes?: number;
  /** How long a sent chunk waits for the receiver's ack before it is sent again. */
  ackTimeoutMs?: number;
  /** Longest pause between reconnection attempts. */
  reconnectMaxDelayMs?: number;
}

export const FLUENT_DEFAULTS = {
  tag: 'weft',
  maxEvents: 10_000,
  maxBytes: 8 * 1024 * 1024,
  ackTimeoutMs: 2_000,
  reconnectMaxDelayMs: 2_000,
} as const;

export type FluentLabel = 'access' | 'log';

export interface FluentForward {
  /** Queues one event; returns at once whatever the receiver's state. */
  emit(label: FluentLabel, record: object): void;
  /** A pino destination whose lines go out as `TAG.log` events. */
  readonly logDestination: DestinationStream;
  /** Events queued, in flight or waiting for an ack. */
  buffered(): number;
  /** Waits up to `timeoutMs` for what is buffered to be delivered, then drops the rest and disconnects. */
  close(timeoutMs?: number): Promise<void>;
}

interface FluentMetrics {
  sent: Counter<'tag'>;
  dropped: Counter<'tag'>;
}

function metrics(registry: Registry, buffered: () => number): FluentMetrics {
  const existing = registry.getSingleMetric('weft_fluent_sent_total') as Counter<'tag'> | undefined;
  if (existing !== undefined) return { sent: existing, dropped: registry.getSingleMetric('weft_fluent_dropped_total') as Counter<'tag'> };
  new Gauge({
    name: 'weft_fluent_buffered',
    help: 'Events held for the Fluent receiver: queued, in flight or waiting for an ack.',
    registers: [registry],
    collect() {
      this.set(buffered());
    },
  });
  return {
    sent: new Counter({ name: 'weft_fluent_sent_total', help: 'Events the Fluent receiver acknowledged, by tag.', labelNames: ['tag'] as const, registers: [registry] }),
    dropped: new Counter({ name: 'weft_fluent_dropped_total', help: 'Events given up: dropped from a full buffer, out of retries, or left at shutdown, by tag.', labelNames: ['tag'] as const, registers: [registry] }),
  };
}

export function createFluentForward(options: FluentForwardOptions): FluentForward {
  const prefix = options.tag ?? FLUENT_DEFAULTS.tag;
  const maxEvents = options.maxEvents ?? FLUENT_DEFAULTS.maxEvents;
  const maxBytes = options.maxBytes ?? FLUENT_DEFAULTS.maxBytes;
  const limit = { length: maxEvents, size: maxBytes };
  const client = new FluentClient(prefix, {
    socket: {
      host: options.host,
      port: options.port,
      // An idle socket is closed and reopened on the next event, so a quiet sidecar holds no connection.
      timeout: 30_000,
      reconnect: { delay: 100, backoff: 2, minDelay: 100, maxDelay: options.reconnectMaxDelayMs ?? FLUENT_DEFAULTS.reconnectMaxDelayMs },
    },
    // Acks make delivery at-least-once: a chunk written just before the receiver went away is sent again.
    ack: { ackTimeout: options.ackTimeoutMs ?? FLUENT_DEFAULTS.ackTimeoutMs },
    milliseconds: true,
    // Events of one tick go out together as one PackedForward entry.
    flushInterval: 0,
    sendQueueMaxLimit: limit,
    sendQueueNotFlushableLimit: limit,
    eventRetry: { attempts: 20, delay: 100, backoff: 2, minDelay: 100, maxDelay: 2_000, onError: () => {} },
  });
  const m = metrics(options.registry, () => client.queueLength);
  const counters = {
    access: { sent: m.sent.labels(`${prefix}.access`), dropped: m.dropped.labels(`${prefix}.access`) },
    log: { sent: m.sent.labels(`${prefix}.log`), dropped: m.dropped.labels(`${prefix}.log`) },
  };
  const onSent = { access: () => counters.access.sent.inc(), log: () => counters.log.sent.inc() };
  const onDropped = { access: () => counters.access.dropped.inc(), log: () => counters.log.dropped.inc() };
  let closed = false;

  function emit(label: FluentLabel, record: object): void {
    if (closed) {
      onDropped[label]();
      return;
    }
    client.emit(label, record as Record<string, unknown>, options.clock.wallNow()).then(onSent[label], onDropped[label]);
  }

  const logDestination: DestinationStream = {
    write(line: string): void {
      // Component logs are few and off the request path; the receiver gets them as records, not strings.
      let record: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(line);
        record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { msg: line.trimEnd() };
      } catch {
        record = { msg: line.trimEnd() };
      }
      emit('log', record);
    },
  };

  return {
    emit,
    logDestination,
    buffered: () => client.queueLength,
    async close(timeoutMs = 2_000) {
      if (closed) return;
      closed = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([client.waitForPending(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      await client.shutdown();
    },
  };
}

/**
 * The runtime with a logger that writes where the runtime's did and to Fluent as well. Level and bindings carry over;
 * pino has no way to add a destination to a logger that exists, so the destination is read from pino's own symbol.
 */
export function withFluentLogs(runtime: Runtime, forward: FluentForward): Runtime {
  const original = (runtime.logger as unknown as Record<symbol, DestinationStream | undefined>)[pino.symbols.streamSym];
  const streams: { level: 'trace'; stream: DestinationStream }[] = [{ level: 'trace', stream: forward.logDestination }];
  if (original !== undefined) streams.unshift({ level: 'trace', stream: original });
  const logger: Logger = pino({ level: runtime.logger.level }, pino.multistream(streams)).child(runtime.logger.bindings());
  return { ...runtime, logger };
}
