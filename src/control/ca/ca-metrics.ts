// Control CA: metrics of certificate issuance and of the CA's roots, in the control plane's own registry.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CertificateAuthority } from '../../security/ca/index.js';

/** Why a certificate request was refused; a fixed set, so the series stay few. */
export type RefusalReason = 'invalid-request' | 'csr-rejected' | 'identity-mismatch' | 'not-allowed' | 'ca-unavailable';

export class CaMetrics {
  private readonly issued: Counter;
  private readonly refused: Counter<'reason'>;

  constructor(private readonly registry: Registry, ca: CertificateAuthority) {
    for (const name of CaMetrics.names) registry.removeSingleMetric(name);
    this.issued = new Counter({ name: 'weft_control_certificates_issued_total', help: 'Workload certificates the CA signed.', registers: [registry] });
    this.refused = new Counter({
      name: 'weft_control_certificate_requests_refused_total',
      help: 'Certificate requests refused, by reason: invalid-request, csr-rejected, identity-mismatch, not-allowed, ca-unavailable.',
      labelNames: ['reason'],
      registers: [registry],
    });
    new Gauge({
      name: 'weft_control_ca_authority_expiry_timestamp_seconds',
      help: 'When each root (or external intermediate) in the trust bundle expires, Unix seconds; signing is 1 for the one that signs.',
      labelNames: ['id', 'signing'],
      registers: [registry],
      collect() {
        this.reset();
        for (const authority of ca.status().authorities) this.set({ id: authority.id, signing: authority.signing ? '1' : '0' }, authority.notAfter.getTime() / 1000);
      },
    });
  }

  static readonly names = ['weft_control_certificates_issued_total', 'weft_control_certificate_requests_refused_total', 'weft_control_ca_authority_expiry_timestamp_seconds'];

  countIssued(): void {
    this.issued.inc();
  }

  countRefused(reason: RefusalReason): void {
    this.refused.inc({ reason });
  }

  unregister(): void {
    for (const name of CaMetrics.names) this.registry.removeSingleMetric(name);
  }
}
