// Inbound: counts of requests the inbound side refused before the app — weft_proxy_jwt_denied_total by reason, weft_proxy_authz_denied_total and weft_proxy_rate_limited_total per calling service.
import { Counter, type Registry } from 'prom-client';
import type { JwtFailureReason } from '../security/jwt/index.js';

/** One calling service's refusal counts; the series appear on the first refusal. */
export interface RefusalCounts {
  denied(): void;
  limited(): void;
}

type Child = ReturnType<Counter<'destination' | 'source'>['labels']>;

export interface AdmissionMetrics {
  /** `source` must be a bounded label value (SourceTable's). */
  forSource(source: string): RefusalCounts;
  /** A 401 UNAUTHENTICATED; the reason is one of the authenticator's fixed values, so the series stay few. */
  jwtDenied(reason: JwtFailureReason): void;
}

export function createAdmissionMetrics(registry: Registry, destination: string): AdmissionMetrics {
  const registers = [registry];
  const labelNames = ['destination', 'source'] as const;
  const denied = new Counter({ name: 'weft_proxy_authz_denied_total', help: 'Inbound requests refused with 403 FORBIDDEN by an AuthorizationPolicy, by calling service.', labelNames, registers });
  const limited = new Counter({ name: 'weft_proxy_rate_limited_total', help: 'Inbound requests refused with 429 RATE_LIMITED by a rate limit, by calling service.', labelNames, registers });
  const jwtDenied = new Counter({ name: 'weft_proxy_jwt_denied_total', help: 'Inbound requests refused with 401 UNAUTHENTICATED by a JwtPolicy, by reason.', labelNames: ['destination', 'reason'] as const, registers });
  const jwtChildren = new Map<JwtFailureReason, ReturnType<typeof jwtDenied.labels>>();
  return {
    forSource(source) {
      let deniedChild: Child | undefined;
      let limitedChild: Child | undefined;
      return {
        denied: () => (deniedChild ??= denied.labels(destination, source)).inc(),
        limited: () => (limitedChild ??= limited.labels(destination, source)).inc(),
      };
    },
    jwtDenied(reason) {
      let child = jwtChildren.get(reason);
      if (child === undefined) jwtChildren.set(reason, (child = jwtDenied.labels(destination, reason)));
      child.inc();
    },
  };
}
