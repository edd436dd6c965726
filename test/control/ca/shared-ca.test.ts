// Control CA: one CA shared by control planes through the registry backend — memory and a real etcd; first writer wins.
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/index.js';
import { MemoryBackend, openEtcdBackend, parseEtcdUrl, type RegistryBackend } from '../../../src/registry/index.js';
import { BackendCaStore, CA_STATE_KEY } from '../../../src/control/ca/index.js';
import { CertificateAuthority, RotationPhaseError } from '../../../src/security/ca/index.js';
import { createRuntime } from '../../../src/telemetry/index.js';
import { requireEtcd, startEtcd, type EtcdCluster } from '../../support/index.js';
import { OpensslDir, makeCsr } from '../../security/ca/pki-fixtures.js';

const TRUST_DOMAIN = 'mesh.test';
const API_ID = `spiffe://${TRUST_DOMAIN}/service/api`;
const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });

const etcdBinary = await requireEtcd();
let etcd: EtcdCluster | undefined;
let prefixes = 0;
const opened: RegistryBackend[] = [];
afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
  await etcd?.close();
});

interface Fixture {
  readonly name: string;
  /** Two backends on the same store, as two control planes would hold. */
  pair(): Promise<readonly [RegistryBackend, RegistryBackend]>;
}

const fixtures: Fixture[] = [
  {
    name: 'MemoryBackend',
    pair: async () => {
      const backend = new MemoryBackend();
      return [backend, backend];
    },
  },
  ...(etcdBinary === undefined
    ? []
    : [
        {
          name: 'EtcdBackend',
          pair: async (): Promise<readonly [RegistryBackend, RegistryBackend]> => {
            etcd ??= await startEtcd(etcdBinary);
            const url = parseEtcdUrl(`etcd://${etcd.endpoints}/ca-${++prefixes}/`);
            const pair = [await openEtcdBackend(url, runtime()), await openEtcdBackend(url, runtime())] as const;
            opened.push(...pair);
            return pair;
          },
        },
      ]),
];

describe.each(fixtures)('CA state in $name', ({ pair }) => {
  it('two control planes starting together end with the same root, stored once under ca/', async () => {
    const [a, b] = await pair();
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const [first, second] = await Promise.all([
      CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store: new BackendCaStore(a) }),
      CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store: new BackendCaStore(b) }),
    ]);
    expect(second.trustBundle()).toEqual(first.trustBundle());
    expect(second.status().authorities[0]!.fingerprint).toBe(first.status().authorities[0]!.fingerprint);
    const { items } = await a.list('ca/');
    expect(items.map((item) => item.key)).toEqual([CA_STATE_KEY]);

    // Either one signs leaves that verify against the shared bundle.
    const openssl = await OpensslDir.create();
    try {
      for (const ca of [first, second]) {
        const leaf = await ca.sign(await makeCsr('P-256', [API_ID]), 'api');
        const result = await openssl.openssl(['verify', '-attime', String(Math.floor(clock.wallNow() / 1000)), '-CAfile', await openssl.write('b.pem', first.trustBundle().pem), await openssl.write('l.pem', leaf.certificatePem)]);
        expect(result.code, result.output).toBe(0);
      }
    } finally {
      await openssl.remove();
    }
  });

  it('a rotation by one control plane reaches the other within its refresh interval; concurrent steps do not both apply', async () => {
    const [a, b] = await pair();
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const refreshIntervalMs = 5_000;
    const first = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store: new BackendCaStore(a), refreshIntervalMs });
    const second = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store: new BackendCaStore(b), refreshIntervalMs });

    const results = await Promise.allSettled([first.rotate(), second.rotate()]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(RotationPhaseError);

    await first.refresh();
    await second.refresh();
    expect(second.trustBundle().roots).toHaveLength(2);
    expect(second.trustBundle()).toEqual(first.trustBundle());

    await first.activate();
    const newRoot = first.status().authorities.find((x) => x.signing)!.id;
    // The other control plane still uses its cached state until the refresh interval passes, then signs with the new root.
    clock.advance(refreshIntervalMs);
    const leaf = await second.sign(await makeCsr('P-256', [API_ID]), 'api');
    expect(leaf.authorityId).toBe(newRoot);
    expect(second.status().phase).toBe('new-root-signing');
  });
});
