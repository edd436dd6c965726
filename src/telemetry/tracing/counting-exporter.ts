// Telemetry/tracing: wraps the OTLP exporter to count spans exported and spans lost to failed exports, and to log a failing collector once.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

interface TraceExportMetrics {
  exported: Counter;
  failed: Counter;
}

function metrics(registry: Registry): TraceExportMetrics {
  const existing = registry.getSingleMetric('weft_trace_spans_exported_total') as Counter | undefined;
  if (existing !== undefined) return { exported: existing, failed: registry.getSingleMetric('weft_trace_spans_failed_total') as Counter };
  return {
    exported: new Counter({ name: 'weft_trace_spans_exported_total', help: 'Spans the OTLP receiver accepted.', registers: [registry] }),
    failed: new Counter({ name: 'weft_trace_spans_failed_total', help: 'Spans lost because their export failed after the exporter\'s retries.', registers: [registry] }),
  };
}

/**
 * Export runs in the batch processor's own timer, never on the request path; this only counts its outcome. A collector
 * that stays down is logged when it starts failing and when it recovers, not once per batch.
 */
export class CountingExporter implements SpanExporter {
  private readonly metrics: TraceExportMetrics;
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    registry: Registry,
    private readonly logger: Logger,
    private readonly target: string,
  ) {
    this.metrics = metrics(registry);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.metrics.exported.inc(spans.length);
        if (this.failing) {
          this.failing = false;
          this.logger.info({ otlp: this.target }, 'trace export recovered');
        }
      } else {
        this.metrics.failed.inc(spans.length);
        if (!this.failing) {
          this.failing = true;
          this.logger.warn({ otlp: this.target, err: result.error?.message, spans: spans.length }, 'trace export failed; spans are dropped until the receiver answers');
        }
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
