// Proxy: the sidecar's certificate and mTLS series — expiry, renewals, trust-bundle roots, failed handshakes and refused plaintext — read from plain counts at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import { HANDSHAKE_FAILURE_REASONS, type MeshTls } from '../security/tls/index.js';
import { rootFingerprints, RENEWAL_OUTCOMES, type WorkloadCertificates } from '../workload/index.js';

/** Counts are kept as totals by their owners; a counter is advanced by what was added since the last scrape. */
function advance(counter: Counter<string>, labels: Record<string, string>, total: number, last: Map<string, number>): void {
  const key = Object.values(labels).join('\0');
  const delta = total - (last.get(key) ?? 0);
  // The first scrape writes every fixed series, zeros included, so a rate() over them starts from a value.
  if (delta > 0 || !last.has(key)) counter.inc(labels, delta);
  last.set(key, total);
}

export function registerMtlsMetrics(registry: Registry, certificates: WorkloadCertificates, mesh: MeshTls): void {
  const registers = [registry];
  let bundle = '';
  let roots = 0;
  new Gauge({
    name: 'weft_proxy_certificate_expiry_timestamp_seconds',
    help: "The notAfter of the sidecar's current workload certificate, in seconds since the epoch; absent until one is held.",
    registers,
    collect(this: Gauge) {
      const identity = certificates.identity;
      if (identity === null) this.reset();
      else this.set(identity.current.notAfter / 1000);
    },
  });
  new Gauge({
    name: 'weft_proxy_trust_bundle_roots',
    help: 'Roots in the trust bundle the sidecar verifies peers with (2 during a CA rotation).',
    registers,
    collect(this: Gauge) {
      const pem = certificates.identity?.current.material.trustBundle ?? '';
      if (pem !== bundle) {
        bundle = pem;
        roots = pem === '' ? 0 : rootFingerprints(pem).length;
      }
      this.set(roots);
    },
  });
  const renewed = new Map<string, number>();
  new Counter({
    name: 'weft_proxy_certificate_renewals_total',
    help: 'Renewals of the workload certificate by outcome (a failure is retried with backoff while the current certificate stays in force).',
    labelNames: ['outcome'] as const,
    registers,
    collect(this: Counter<'outcome'>) {
      for (const outcome of RENEWAL_OUTCOMES) advance(this, { outcome }, certificates.renewals[outcome], renewed);
    },
  });
  const failed = new Map<string, number>();
  new Counter({
    name: 'weft_proxy_mtls_handshake_failures_total',
    help: 'mTLS handshakes that failed: outbound by reason (peer_identity_mismatch, peer_untrusted, handshake), inbound (handshake) for untrusted, missing or expired client certificates.',
    labelNames: ['direction', 'reason'] as const,
    registers,
    collect(this: Counter<'direction' | 'reason'>) {
      for (const reason of HANDSHAKE_FAILURE_REASONS) advance(this, { direction: 'outbound', reason }, mesh.outboundFailures[reason], failed);
      advance(this, { direction: 'inbound', reason: 'handshake' }, mesh.inbound?.handshake ?? 0, failed);
    },
  });
  const refused = new Map<string, number>();
  new Counter({
    name: 'weft_proxy_mtls_plaintext_refused_total',
    help: 'Plaintext connections closed unanswered by the inbound listener because its service is mtls: strict.',
    registers,
    collect(this: Counter) {
      const total = mesh.inbound?.plaintext ?? 0;
      const delta = total - (refused.get('') ?? 0);
      if (delta > 0 || !refused.has('')) this.inc(delta);
      refused.set('', total);
    },
  });
}
