// Tests for the relay between two sockets: a reset on one side takes the other down, the idle timer over both directions (on a ManualClock), a clean end.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { Splice } from '../../src/tcp/tcp-splice.js';
import { Cleanups, Client, eventually } from './tcp-fixtures.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** Two connected sockets on 127.0.0.1: [the client's end, the server's end]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, allowHalfOpen: true });
  const serverSide = await accepted;
  await new Promise<void>((resolve) => (client.connecting ? client.once('connect', () => resolve()) : resolve()));
  server.close();
  cleanups.add(() => {
    client.destroy();
    serverSide.destroy();
  });
  return [client, serverSide];
}

interface Relay {
  /** The app's end, connected to the splice's upstream socket. */
  app: Client;
  /** The client's end, connected to the splice's downstream socket. */
  user: Client;
  splice: Splice;
  idled: () => number;
  closed: Promise<Error | undefined>;
}

/** user ⇄ [downstream | Splice | upstream] ⇄ app, on real sockets. */
async function relay(clock: ManualClock, idleTimeoutMs: number): Promise<Relay> {
  const [userEnd, downstream] = await socketPair();
  const [upstream, appEnd] = await socketPair();
  let idled = 0;
  let closed!: (error: Error | undefined) => void;
  const done = new Promise<Error | undefined>((resolve) => (closed = resolve));
  const splice = new Splice(downstream, upstream, { clock, idleTimeoutMs, onIdle: () => idled++, onClose: closed });
  return { app: new Client(appEnd, true), user: new Client(userEnd, true), splice, idled: () => idled, closed: done };
}

describe('Splice', () => {
  it('takes the other side down when one is reset', async () => {
    const { app, user, closed } = await relay(new ManualClock(), 60_000);
    user.socket.write('hello');
    await app.waitFor((x) => x.text() === 'hello');
    app.socket.resetAndDestroy();
    await user.waitClosed();
    expect(await closed).toBeInstanceOf(Error);
  });

  it('closes after the idle timeout, counting bytes either way as activity', async () => {
    const clock = new ManualClock();
    const { app, user, idled } = await relay(clock, 1_000);
    clock.advance(600);
    app.socket.write('from the app');
    await user.waitFor((x) => x.text() === 'from the app');
    clock.advance(600);
    expect(user.closed).toBe(false);
    user.socket.write('from the user');
    await app.waitFor((x) => x.text() === 'from the user');
    clock.advance(900);
    expect(idled()).toBe(0);
    clock.advance(200);
    expect(idled()).toBe(1);
    await user.waitClosed();
    await app.waitClosed();
  });

  it('holds back the faster side: with the client not reading, the relay stops reading the app and buffers no more than one chunk', async () => {
    const { app, user, splice } = await relay(new ManualClock(), 60_000);
    user.socket.pause();
    // More than the kernel buffers of both hops can take on loopback, so that the app itself ends up waiting.
    const size = 32 * 1024 * 1024;
    app.socket.write(Buffer.alloc(size, 1));
    await eventually(() => splice.upstream.isPaused() && app.socket.writableLength > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(splice.upstream.isPaused()).toBe(true);
    expect(splice.downstream.writableLength).toBeLessThanOrEqual(splice.downstream.writableHighWaterMark + 64 * 1024);
    user.socket.resume();
    await user.waitFor((x) => x.bytes() === size, 10_000);
  });

  it('ends both sides cleanly on end(), and reports the close once both are gone', async () => {
    const { app, user, splice, closed } = await relay(new ManualClock(), 60_000);
    user.socket.write('last words');
    await app.waitFor((x) => x.text() === 'last words');
    splice.end();
    await user.waitClosed();
    await app.waitClosed();
    expect(user.ended && app.ended).toBe(true);
    expect(await closed).toBeUndefined();
  });
});
