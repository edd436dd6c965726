// Tests for TCP: apps on 127.0.0.1 (echo, greeting, reply after FIN), raw clients, snapshots of tcp instances, identities from the project's CA.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Runtime } from '../../src/core/index.js';
import {
  kindPolicyMaps,
  parseKindPolicy,
  parsePolicy,
  snapshotFromInstances,
  type Instance,
  type KindPolicy,
  type MtlsMode,
  type PolicyKind,
  type ServicePolicy,
  type Snapshot,
  type SnapshotSource,
} from '../../src/model/index.js';
import { SnapshotChannel } from '../../src/resolve/snapshot-channel.js';
import { CertificateAuthority, FileCaStore } from '../../src/security/ca/index.js';
import { formatSpiffeId, spiffeId } from '../../src/security/identity.js';
import { MeshTls, WorkloadIdentity } from '../../src/security/tls/index.js';
import { createWorkloadCsr, generateWorkloadKey } from '../../src/security/workload-key.js';
import { metricValue } from '../telemetry/metric-value.js';
import { instance, quietRuntime, until } from '../proxy/request-path-fixtures.js';

export { quietRuntime, until };

export const TRUST_DOMAIN = 'weft.test';
export const spiffe = (service: string): string => formatSpiffeId(spiffeId(TRUST_DOMAIN, service));

/** Cleanups run after each test, last registered first. */
export class Cleanups {
  private readonly list: (() => Promise<void> | void)[] = [];
  add(cleanup: () => Promise<void> | void): void {
    this.list.push(cleanup);
  }
  async run(): Promise<void> {
    while (this.list.length > 0) await this.list.pop()!();
  }
}

/** A passing instance of service `db` (or the one given) speaking tcp. */
export function tcpInstance(id: string, port: number, options: Partial<Instance> = {}): Instance {
  return instance(id, port, { service: 'db', protocol: 'tcp', ...options });
}

/** A snapshot source whose instances and policies a test sets; each change is published as a new snapshot. */
export class TestSnapshots implements SnapshotSource {
  private readonly channel: SnapshotChannel;
  private version = 1;
  private instances: Instance[];
  private policies = new Map<string, ServicePolicy>();
  private kindPolicies: KindPolicy[] = [];

  constructor(instances: Instance[] = []) {
    this.instances = instances;
    this.channel = new SnapshotChannel(this.build(undefined));
  }

  current(): Snapshot {
    return this.channel.current();
  }

  subscribe(listener: (snapshot: Snapshot) => void): () => void {
    return this.channel.subscribe(listener);
  }

  setInstances(instances: Instance[]): void {
    this.instances = instances;
    this.publish();
  }

  setPolicy(input: Record<string, unknown>): void {
    const policy = parsePolicy(input);
    this.policies = new Map(this.policies).set(policy.service, policy);
    this.publish();
  }

  setKindPolicy(kind: PolicyKind, input: Record<string, unknown>): void {
    const policy = parseKindPolicy(kind, { kind, ...input });
    this.kindPolicies = [...this.kindPolicies.filter((p) => !(p.kind === kind && p.service === policy.service)), policy];
    this.publish();
  }

  private build(previous: Snapshot | undefined): Snapshot {
    return snapshotFromInstances(this.version++, this.instances, this.policies, kindPolicyMaps(this.kindPolicies), previous);
  }

  private publish(): void {
    this.channel.publish(this.build(this.channel.current()));
  }
}

export interface TestApp {
  readonly port: number;
  /** Connections the app accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** A TCP app on 127.0.0.1 that keeps half-open connections (its side stays writable after the client's FIN). */
export async function startApp(onConnection: (socket: Socket) => void): Promise<TestApp> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every byte back; the client's FIN is answered with ours once everything is echoed. */
export const echoApp = (): Promise<TestApp> => startApp((socket) => socket.pipe(socket));

/** Speaks first: greets with `220 <name>` as soon as the connection opens, then echoes. */
export const greetingApp = (name: string): Promise<TestApp> =>
  startApp((socket) => {
    socket.write(`220 ${name}\r\n`);
    socket.pipe(socket);
  });

/** Reads until the client's FIN, then answers `got <n> bytes: <text>` and closes: a reply that only exists after the FIN. */
export const replyAfterFinApp = (): Promise<TestApp> =>
  startApp((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      // Later than the FIN on purpose: a relay that shut its write side with the read side would lose it.
      setTimeout(() => socket.end(`got ${text.length} bytes: ${text}`), 50);
    });
  });

/** A port on which nothing listens: bound once, then closed. */
export async function deadPort(): Promise<number> {
  const app = await startApp(() => {});
  await app.close();
  return app.port;
}

/** A raw client connection and what it received. */
export class Client {
  readonly chunks: Buffer[] = [];
  /** The server's FIN arrived. */
  ended = false;
  closed = false;
  error: Error | undefined;
  readonly closedPromise: Promise<void>;

  constructor(
    readonly socket: Socket,
    endOnEnd: boolean,
  ) {
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('end', () => {
      this.ended = true;
      if (endOnEnd) socket.end();
    });
    socket.on('error', (error) => (this.error = error));
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  text(): string {
    return Buffer.concat(this.chunks).toString();
  }

  bytes(): number {
    return this.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  /** Waits until `check` holds, at most `ms`; throws with what was received otherwise. */
  async waitFor(check: (client: Client) => boolean, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (let i = 0; i < ms / 5 + 1 && Date.now() < deadline; i++) {
      if (check(this)) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (!check(this)) throw new Error(`condition not met within ${ms} ms; received ${JSON.stringify(this.text().slice(0, 200))}, ended=${this.ended}, closed=${this.closed}`);
  }

  /** Resolves once the connection closes, at most `ms` (throws otherwise). */
  async waitClosed(ms = 5_000): Promise<void> {
    await this.waitFor((client) => client.closed, ms);
  }
}

/**
 * Opens a raw connection to 127.0.0.1:port, allowHalfOpen so that a test can shut its side and keep reading. The
 * client answers the server's FIN with its own, as most do, unless `endOnEnd` is false.
 */
export function dial(port: number, endOnEnd = true): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const client = new Client(socket, endOnEnd);
    socket.once('connect', () => resolve(client));
    socket.once('error', reject);
  });
}

/** Polls `check` every 10 ms until it holds, at most `ms`; throws otherwise. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < ms / 10 + 1 && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!(await check())) throw new Error(`condition not met within ${ms} ms`);
}

/** The value of one series on a runtime's registry; 0 when absent. */
export async function metric(runtime: Runtime, name: string, labels: Readonly<Record<string, string>>): Promise<number> {
  return metricValue(await runtime.metrics.metrics(), name, labels) ?? 0;
}

/** A CA of this project on a temporary directory, and identities it signs from CSRs made by fresh workload keys. */
export class TestCa {
  private constructor(
    private readonly ca: CertificateAuthority,
    private readonly dir: string,
  ) {}

  static async open(trustDomain = TRUST_DOMAIN): Promise<TestCa> {
    const dir = await mkdtemp(join(tmpdir(), 'weft-tcp-ca-'));
    const ca = await CertificateAuthority.open({ trustDomain, clock: systemClock, store: new FileCaStore(dir) });
    return new TestCa(ca, dir);
  }

  async identity(service: string): Promise<WorkloadIdentity> {
    const key = await generateWorkloadKey();
    const issued = await this.ca.sign(await createWorkloadCsr(key, formatSpiffeId(spiffeId(this.ca.trustDomain, service))), service);
    return new WorkloadIdentity({ key: key.privateKeyPem, certChain: issued.fullChainPem, trustBundle: this.ca.trustBundle().pem });
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The mTLS state of a sidecar holding `identity`, in a mesh whose default mode is `mode`. */
export function meshTls(mode: MtlsMode, identity: WorkloadIdentity | null, trustDomain = TRUST_DOMAIN): MeshTls {
  const mesh = new MeshTls({ connectTimeoutMs: 1_000 });
  mesh.setMesh({ trustDomain, mtlsDefault: mode });
  if (identity !== null) mesh.setIdentity(identity);
  return mesh;
}
