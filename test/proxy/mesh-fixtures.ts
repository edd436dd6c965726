// Test fixtures for the sidecar tests that run two sidecars over mTLS: workload identities of one test CA, and a caller's mesh view.
import type { Runtime } from '../../src/core/index.js';
import { InboundAdmission } from '../../src/inbound/index.js';
import { kindPolicyMaps, parseKindPolicy, snapshotFromInstances, type Protocol } from '../../src/model/index.js';
import { createInboundServer } from '../../src/proxy/index.js';
import { SnapshotChannel } from '../../src/resolve/snapshot-channel.js';
import { MtlsPeers } from '../../src/security/authz/index.js';
import { formatSpiffeId, spiffeId } from '../../src/security/identity.js';
import { MeshTls, WorkloadIdentity } from '../../src/security/tls/index.js';
import { createRoot, issueLeaf, materialOf } from '../security/tls/test-pki.js';
import { quietRuntime } from './request-path-fixtures.js';

export const TRUST_DOMAIN = 'weft.test';

export const spiffe = (service: string): string => formatSpiffeId(spiffeId(TRUST_DOMAIN, service));

/** One identity per service name, all issued by one fresh root. */
export async function identities<const N extends string>(...services: N[]): Promise<Record<N, WorkloadIdentity>> {
  const root = await createRoot('root');
  const out = {} as Record<N, WorkloadIdentity>;
  for (const service of services) out[service] = new WorkloadIdentity(materialOf(await issueLeaf(root, spiffe(service)), root));
  return out;
}

/** What a caller's sidecar knows of the mesh: strict mTLS by default, in the test trust domain, as `identity`. */
export function meshAs(identity: WorkloadIdentity): MeshTls {
  const mesh = new MeshTls({ connectTimeoutMs: 1_000 });
  mesh.setMesh({ trustDomain: TRUST_DOMAIN, mtlsDefault: 'strict' });
  mesh.setIdentity(identity);
  return mesh;
}

/**
 * Service "api"'s sidecar: a strict mTLS inbound side in front of the app at `appPort`, whose authorization policy
 * admits the service "frontend" only. Closed by the `cleanups` it is given.
 */
export async function apiSidecar(appPort: number, appProtocol: Protocol, identity: WorkloadIdentity, cleanups: (() => Promise<void> | void)[]): Promise<{ port: number; runtime: Runtime }> {
  const runtime = quietRuntime();
  const channel = new SnapshotChannel();
  const authz = parseKindPolicy('AuthorizationPolicy', { service: 'api', default: 'deny', rules: [{ from: { services: ['frontend'] } }] });
  channel.publish(snapshotFromInstances(1, [], new Map(), kindPolicyMaps([authz])));
  const server = createInboundServer({
    runtime,
    appPort,
    appProtocol,
    service: 'api',
    admission: new InboundAdmission({ service: 'api', snapshots: channel, clock: runtime.clock }),
    peers: new MtlsPeers(() => TRUST_DOMAIN),
    mtls: { mode: 'strict', identity },
  });
  const { port } = await server.listen('127.0.0.1', 0);
  cleanups.push(() => server.close(0));
  return { port, runtime };
}
