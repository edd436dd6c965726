// Telemetry/tracing: the sidecar's OpenTelemetry SDK: a tracer provider sampling ParentBased(TraceIdRatio), batching spans to OTLP/HTTP.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { CountingExporter } from './counting-exporter.js';
import { HopTracer } from './hop-span.js';

export interface TracingOptions {
  /** Full OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  otlpUrl: string;
  /** Share of new traces sampled, 0-1; a caller's sampled flag decides for traces that arrive with one. */
  sample: number;
  /** The sidecar's service: the resource's service.name and the source of its outbound spans. */
  service: string;
  registry: Registry;
  logger: Logger;
  /** How long spans wait to be batched; shorter in tests. */
  scheduledDelayMs?: number;
  /** Replaces the OTLP exporter, for embedding. */
  exporter?: SpanExporter;
}

export interface Tracing {
  readonly hops: HopTracer;
  /** Exports what is queued, waiting at most `timeoutMs`, then stops; spans still queued after that are dropped. */
  shutdown(timeoutMs?: number): Promise<void>;
}

export const TRACING_DEFAULTS = {
  sample: 1,
  scheduledDelayMs: 1_000,
  exportTimeoutMs: 5_000,
  maxQueueSize: 4_096,
  maxExportBatchSize: 512,
  shutdownMs: 2_000,
} as const;

export function createTracing(options: TracingOptions): Tracing {
  const sample = options.sample;
  if (!(sample >= 0 && sample <= 1)) throw new RangeError(`trace sample must be from 0 to 1, got ${sample}`);
  const exporter = new CountingExporter(
    options.exporter ?? new OTLPTraceExporter({ url: options.otlpUrl, timeoutMillis: TRACING_DEFAULTS.exportTimeoutMs }),
    options.registry,
    options.logger,
    options.otlpUrl,
  );
  const provider = new BasicTracerProvider({
    // The SDK's default resource names the SDK (telemetry.sdk.*); service.name replaces its unknown_service.
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.service })),
    // A caller's decision is kept, sampled or not, so every hop of a trace agrees; the ratio applies to new traces only.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sample) }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: options.scheduledDelayMs ?? TRACING_DEFAULTS.scheduledDelayMs,
        exportTimeoutMillis: TRACING_DEFAULTS.exportTimeoutMs,
        maxQueueSize: TRACING_DEFAULTS.maxQueueSize,
        maxExportBatchSize: TRACING_DEFAULTS.maxExportBatchSize,
      }),
    ],
  });
  const hops = new HopTracer(provider.getTracer('weft'), options.service);
  return {
    hops,
    async shutdown(timeoutMs = TRACING_DEFAULTS.shutdownMs) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      // An unreachable collector must not hold the sidecar's exit: shutdown is best effort within the bound.
      await Promise.race([provider.shutdown().catch(() => undefined), bound]);
      clearTimeout(timer);
    },
  };
}
