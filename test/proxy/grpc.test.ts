// Tests for gRPC through client sidecar → server sidecar over mTLS, with the real @grpc/grpc-js client and server: every call shape, deadlines, statuses, retries, metrics.
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/index.js';
import type { Instance } from '../../src/model/index.js';
import { createOutboundServer } from '../../src/proxy/index.js';
import type { WorkloadIdentity } from '../../src/security/tls/index.js';
import { apiSidecar, identities, meshAs } from './mesh-fixtures.js';
import { instance, quietRuntime, snapshotsOf } from './request-path-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Message {
  text: string;
  from?: string;
}

/** JSON messages: the mesh never reads them, and the test needs no .proto. */
const json = {
  serialize: (value: Message): Buffer => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer): Message => JSON.parse(bytes.toString()) as Message,
};

const ECHO = {
  unary: { path: '/test.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  serverStream: { path: '/test.Echo/ServerStream', requestStream: false, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  clientStream: { path: '/test.Echo/ClientStream', requestStream: true, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  bidi: { path: '/test.Echo/Bidi', requestStream: true, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
} satisfies grpc.ServiceDefinition;

const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo');
type Echo = InstanceType<typeof EchoClient> & {
  unary(request: Message, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply?: Message) => void): grpc.ClientUnaryCall;
  serverStream(request: Message, options?: grpc.CallOptions): grpc.ClientReadableStream<Message>;
  clientStream(callback: (error: grpc.ServiceError | null, reply?: Message) => void): grpc.ClientWritableStream<Message>;
  bidi(): grpc.ClientDuplexStream<Message, Message>;
};

interface App {
  port: number;
  name: string;
  server: grpc.Server;
  calls: number;
  deadlines: (number | undefined)[];
}

/** A grpc-js server named `name`: `fail:<code>` answers that status, `slow:<ms>` waits first. */
async function echoApp(name: string): Promise<App> {
  const server = new grpc.Server();
  const app: App = { port: 0, name, server, calls: 0, deadlines: [] };
  server.addService(ECHO, {
    unary: (call: grpc.ServerUnaryCall<Message, Message>, callback: grpc.sendUnaryData<Message>) => {
      app.calls++;
      const deadline = call.getDeadline();
      app.deadlines.push(deadline instanceof Date ? deadline.getTime() - Date.now() : Number.isFinite(deadline) ? Number(deadline) - Date.now() : undefined);
      const text = call.request.text;
      if (text.startsWith('fail:')) {
        callback({ code: Number(text.slice(5)), details: `asked to fail with ${text.slice(5)}` });
        return;
      }
      const slow = text.startsWith('slow:') ? Number(text.slice(5)) : 0;
      setTimeout(() => callback(null, { text, from: name }), slow);
    },
    serverStream: (call: grpc.ServerWritableStream<Message, Message>) => {
      for (let i = 0; i < 5; i++) call.write({ text: `${call.request.text} ${i}`, from: name });
      call.end();
    },
    clientStream: (call: grpc.ServerReadableStream<Message, Message>, callback: grpc.sendUnaryData<Message>) => {
      const texts: string[] = [];
      call.on('data', (m: Message) => texts.push(m.text));
      call.on('end', () => callback(null, { text: texts.join(','), from: name }));
    },
    bidi: (call: grpc.ServerDuplexStream<Message, Message>) => {
      call.on('data', (m: Message) => call.write({ text: `echo ${m.text}`, from: name }));
      call.on('end', () => call.end());
    },
  });
  app.port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))));
  cleanups.push(() => {
    server.forceShutdown();
  });
  return app;
}

describe('gRPC through two sidecars over mTLS', () => {
  let api: WorkloadIdentity;
  let frontend: WorkloadIdentity;
  let intruder: WorkloadIdentity;
  beforeAll(async () => {
    ({ api, frontend, intruder } = await identities('api', 'frontend', 'intruder'));
  });

  /** Service "api": a gRPC app behind a strict inbound side that admits frontend only. */
  async function apiInstance(app: App): Promise<Instance> {
    const { port } = await apiSidecar(app.port, 'grpc', api, cleanups);
    return instance(`api-${app.name}`, port, { service: 'api', protocol: 'grpc' });
  }

  async function clientSidecar(identity: WorkloadIdentity, service: string, instances: Instance[]): Promise<{ port: number; runtime: Runtime }> {
    const runtime = quietRuntime();
    const proxy = createOutboundServer({ runtime, snapshots: snapshotsOf(instances), localService: service, mtls: meshAs(identity) });
    const { port } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    return { port, runtime };
  }

  function echoClient(port: number): Echo {
    const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'api' }) as Echo;
    cleanups.push(() => client.close());
    return client;
  }

  function unary(client: Echo, text: string, options: grpc.CallOptions = {}): Promise<Message> {
    return new Promise((resolve, reject) => client.unary({ text }, new grpc.Metadata(), options, (error, reply) => (error ? reject(error) : resolve(reply!))));
  }

  async function sample(runtime: Runtime, name: string, labels: string[]): Promise<number> {
    const text = await runtime.metrics.metrics();
    const line = text.split('\n').find((l) => l.startsWith(name) && labels.every((label) => l.includes(label)));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  it('carries unary, server-streaming, client-streaming and bidirectional calls', async () => {
    const app = await echoApp('a');
    const { port } = await clientSidecar(frontend, 'frontend', [await apiInstance(app)]);
    const client = echoClient(port);
    expect(await unary(client, 'hello')).toEqual({ text: 'hello', from: 'a' });
    const streamed = await new Promise<string[]>((resolve, reject) => {
      const texts: string[] = [];
      const call = client.serverStream({ text: 'tick' });
      call.on('data', (m: Message) => texts.push(m.text));
      call.on('end', () => resolve(texts));
      call.on('error', reject);
    });
    expect(streamed).toEqual(['tick 0', 'tick 1', 'tick 2', 'tick 3', 'tick 4']);
    const gathered = await new Promise<Message>((resolve, reject) => {
      const call = client.clientStream((error, reply) => (error ? reject(error) : resolve(reply!)));
      for (const text of ['x', 'y', 'z']) call.write({ text });
      call.end();
    });
    expect(gathered.text).toBe('x,y,z');
    const echoed = await new Promise<string[]>((resolve, reject) => {
      const texts: string[] = [];
      const call = client.bidi();
      call.on('data', (m: Message) => {
        texts.push(m.text);
        if (texts.length < 3) call.write({ text: String(texts.length) });
        else call.end();
      });
      call.on('end', () => resolve(texts));
      call.on('error', reject);
      call.write({ text: '0' });
    });
    expect(echoed).toEqual(['echo 0', 'echo 1', 'echo 2']);
  });

  it('passes statuses and messages through, and counts calls by method and grpc-status, a 14 as a failure', async () => {
    const app = await echoApp('a');
    const { port, runtime } = await clientSidecar(frontend, 'frontend', [await apiInstance(app)]);
    const client = echoClient(port);
    const error = await unary(client, 'fail:5').catch((e: grpc.ServiceError) => e);
    expect(error).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'asked to fail with 5' });
    // INVALID_ARGUMENT is not retried; UNAVAILABLE is, on each of the attempts, then passed on.
    expect(await unary(client, 'fail:3').catch((e: grpc.ServiceError) => e.code)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await unary(client, 'fail:14').catch((e: grpc.ServiceError) => e.code)).toBe(grpc.status.UNAVAILABLE);
    expect(app.calls).toBe(5);
    await unary(client, 'ok');
    const labels = ['direction="outbound"', 'destination="api"', 'method="/test.Echo/Unary"'];
    expect(await sample(runtime, 'weft_proxy_grpc_requests_total', [...labels, 'grpc_status="0"'])).toBe(1);
    expect(await sample(runtime, 'weft_proxy_grpc_requests_total', [...labels, 'grpc_status="5"'])).toBe(1);
    expect(await sample(runtime, 'weft_proxy_grpc_requests_total', [...labels, 'grpc_status="14"'])).toBe(1);
    expect(await sample(runtime, 'weft_proxy_requests_total', ['direction="outbound"', 'code="200"', 'classification="failure"'])).toBe(1);
    expect(await sample(runtime, 'weft_proxy_retries_total', ['reason="grpc_unavailable"'])).toBe(2);
  });

  it('makes grpc-timeout a deadline: enforced, and passed on with the time left', async () => {
    const app = await echoApp('a');
    const { port } = await clientSidecar(frontend, 'frontend', [await apiInstance(app)]);
    const client = echoClient(port);
    await unary(client, 'quick', { deadline: Date.now() + 5_000 });
    // The app saw a deadline, shorter than the caller's (time passed on the way), never none.
    expect(app.deadlines[0]).toBeGreaterThan(3_000);
    expect(app.deadlines[0]).toBeLessThanOrEqual(5_000);
    const started = Date.now();
    const error = await unary(client, 'slow:3000', { deadline: Date.now() + 300 }).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it("answers the mesh's own refusals as gRPC statuses: no endpoints UNAVAILABLE, a caller the policy refuses PERMISSION_DENIED", async () => {
    const { port: empty } = await clientSidecar(frontend, 'frontend', []);
    const none = (await unary(echoClient(empty), 'x').catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(none.code).toBe(grpc.status.UNAVAILABLE);
    expect(none.details).toContain('NO_ENDPOINTS');
    const app = await echoApp('a');
    const { port } = await clientSidecar(intruder, 'intruder', [await apiInstance(app)]);
    const denied = (await unary(echoClient(port), 'x').catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(app.calls).toBe(0);
  });

  it('does not retry an UNAVAILABLE that a sidecar made for a call the app may have processed (a reset after it was sent)', async () => {
    const app = await echoApp('a');
    // An app that takes the call and then drops its connection: its sidecar answers UNAVAILABLE with UPSTREAM_RESET.
    let accepted = 0;
    const dropping = http2.createServer();
    dropping.on('stream', (stream) => {
      accepted++;
      stream.on('error', () => {});
      setTimeout(() => stream.session?.destroy(), 20);
    });
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => dropping.close(() => resolve())));
    const { port: droppingSidecar } = await apiSidecar((dropping.address() as AddressInfo).port, 'grpc', api, cleanups);
    const { port } = await clientSidecar(frontend, 'frontend', [instance('api-dropping', droppingSidecar, { service: 'api', protocol: 'grpc' })]);
    const error = (await unary(echoClient(port), 'x').catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toContain('UPSTREAM_RESET');
    expect(accepted).toBe(1);
    expect(app.calls).toBe(0);
  });

  it('balances over three instances and fails no call when one of them dies under a stream of unary calls', async () => {
    const apps = await Promise.all(['a', 'b', 'c'].map((name) => echoApp(name)));
    const instances = await Promise.all(apps.map((app) => apiInstance(app)));
    const { port } = await clientSidecar(frontend, 'frontend', instances);
    const client = echoClient(port);
    const served = new Map<string, number>();
    let failed = 0;
    for (let i = 0; i < 150; i++) {
      // The app of instance b goes away abruptly a third of the way in, calls in flight included.
      if (i === 50) apps[1]!.server.forceShutdown();
      try {
        const reply = await unary(client, `call ${i}`);
        served.set(reply.from!, (served.get(reply.from!) ?? 0) + 1);
      } catch {
        failed++;
      }
    }
    expect(failed).toBe(0);
    expect(served.get('a')).toBeGreaterThan(40);
    expect(served.get('c')).toBeGreaterThan(40);
  });
});
