// Control CA: the routes of the certificate authority — mesh facts and trust bundle (open), CSR signing, issued certificates, status and rotation.
import { isWeftError, WeftError } from '../../core/index.js';
import {
  API_PREFIX,
  CA_ROTATION_STEPS,
  type CaRotationStep,
  type CaStatusReply,
  type CertificateReply,
  type CertificatesReply,
  type IssuedCertificateRecord,
  type MeshReply,
  type TrustBundleReply,
} from '../../model/index.js';
import type { CaStatus, CertificateAuthority } from '../../security/ca/index.js';
import { assertAdmin, assertMayActFor, readJsonBody, type Router } from '../http/index.js';
import type { CaMetrics, RefusalReason } from './ca-metrics.js';
import { parseCertificateRequest } from './certificate-request.js';
import type { ControlCa } from './control-ca.js';

export interface CaRouteOptions {
  /** Under --dev: mTLS off unless a policy asks for it, and no credentials needed. */
  readonly dev: boolean;
}

export function addCaRoutes(router: Router, ca: ControlCa, metrics: CaMetrics, options: CaRouteOptions): void {
  const authority = ca.authority;

  router.add('GET', `${API_PREFIX}/mesh`, async () => {
    const reply: MeshReply = { trustDomain: authority.trustDomain, mtlsDefault: options.dev ? 'disabled' : 'strict', authRequired: !options.dev };
    return { status: 200, body: reply };
  });

  router.add('GET', `${API_PREFIX}/trust-bundle`, async () => ({ status: 200, body: trustBundleReply(authority) }));

  router.add('POST', `${API_PREFIX}/certificates`, async ({ req, principal }) => {
    let reason: RefusalReason = 'invalid-request';
    try {
      const request = parseCertificateRequest(await readJsonBody(req));
      reason = 'not-allowed';
      assertMayActFor(principal, request.service, 'a certificate');
      reason = 'csr-rejected';
      const issued = await authority.sign(request.csr, request.service);
      const sidecar = request.sidecar ?? `${request.service}/${issued.serialNumber}`;
      const record: IssuedCertificateRecord = {
        sidecar,
        service: request.service,
        ...(request.instance === undefined ? {} : { instance: request.instance }),
        spiffeId: issued.spiffeId,
        serial: issued.serialNumber,
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
        signedBy: issued.authorityId,
        issuedAt: new Date().toISOString(),
      };
      await ca.issuance.record(record);
      metrics.countIssued();
      const reply: CertificateReply = {
        spiffeId: issued.spiffeId,
        certificateChain: issued.fullChainPem,
        trustBundle: trustBundleReply(authority),
        serial: issued.serialNumber,
        notBefore: record.notBefore,
        notAfter: record.notAfter,
      };
      return { status: 201, body: reply };
    } catch (error) {
      metrics.countRefused(refusalReason(error, reason));
      throw error;
    }
  });

  router.add('GET', `${API_PREFIX}/certificates`, async () => {
    const reply: CertificatesReply = { certificates: await ca.issuance.list() };
    return { status: 200, body: reply };
  });

  router.add('GET', `${API_PREFIX}/ca`, async () => ({ status: 200, body: caStatusReply(authority.status()) }));

  router.add('POST', `${API_PREFIX}/ca/:step`, async ({ params, principal }) => {
    const step = params.step as CaRotationStep;
    if (!(CA_ROTATION_STEPS as readonly string[]).includes(step)) throw new WeftError('NOT_FOUND', `no CA step "${params.step}"; expected one of ${CA_ROTATION_STEPS.join(', ')}`);
    assertAdmin(principal, `CA ${step}`);
    const status = await runStep(authority, step);
    return { status: 200, body: caStatusReply(status) };
  });
}

function runStep(authority: CertificateAuthority, step: CaRotationStep): Promise<CaStatus> {
  if (step === 'rotate') return authority.rotate();
  if (step === 'activate') return authority.activate();
  return authority.retire();
}

function refusalReason(error: unknown, during: RefusalReason): RefusalReason {
  if (!isWeftError(error)) return 'ca-unavailable';
  if (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN') return 'not-allowed';
  if (error.code === 'IDENTITY_MISMATCH' || error.code === 'IDENTITY_INVALID') return 'identity-mismatch';
  if (error.code === 'CSR_REJECTED') return 'csr-rejected';
  if (error.code === 'VALIDATION_FAILED' || error.code === 'PAYLOAD_TOO_LARGE') return 'invalid-request';
  return during === 'csr-rejected' ? 'ca-unavailable' : during;
}

export function trustBundleReply(authority: CertificateAuthority): TrustBundleReply {
  const bundle = authority.trustBundle();
  return { trustDomain: authority.trustDomain, pem: bundle.pem, roots: bundle.roots };
}

export function caStatusReply(status: CaStatus): CaStatusReply {
  return {
    trustDomain: status.trustDomain,
    source: status.source,
    phase: status.phase,
    ...(status.phaseSince ? { phaseSince: status.phaseSince.toISOString() } : {}),
    authorities: status.authorities.map((a) => ({
      id: a.id,
      subject: a.subject,
      notBefore: a.notBefore.toISOString(),
      notAfter: a.notAfter.toISOString(),
      fingerprintSha256: a.fingerprint,
      signing: a.signing,
    })),
  };
}
