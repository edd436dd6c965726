// Proxy: counts of requests the inbound side refused before the app — weft_proxy_authz_denied_total and weft_proxy_rate_limited_total, per calling service.
import { Counter, type Registry } from 'prom-client';

/** One calling service's refusal counts; the series appear on the first refusal. */
export interface RefusalCounts {
  denied(): void;
  limited(): void;
}

type Child = ReturnType<Counter<'destination' | 'source'>['labels']>;

export interface AdmissionMetrics {
  /** `source` must be a bounded label value (SourceTable's). */
  forSource(source: string): RefusalCounts;
}

export function createAdmissionMetrics(registry: Registry, destination: string): AdmissionMetrics {
  const registers = [registry];
  const labelNames = ['destination', 'source'] as const;
  const denied = new Counter({ name: 'weft_proxy_authz_denied_total', help: 'Inbound requests refused with 403 FORBIDDEN by an AuthorizationPolicy, by calling service.', labelNames, registers });
  const limited = new Counter({ name: 'weft_proxy_rate_limited_total', help: 'Inbound requests refused with 429 RATE_LIMITED by a rate limit, by calling service.', labelNames, registers });
  return {
    forSource(source) {
      let deniedChild: Child | undefined;
      let limitedChild: Child | undefined;
      return {
        denied: () => (deniedChild ??= denied.labels(destination, source)).inc(),
        limited: () => (limitedChild ??= limited.labels(destination, source)).inc(),
      };
    },
  };
}
