// Bench peers: readiness of what HTTP/1.1 polling cannot ask — an h2c request (a cleartext http2 port of nginx serves no HTTP/1.1) and a TCP echo round trip.
import { connect as connectH2, constants as h2 } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { stopProcess, type ManagedProcess } from '../../test/support/index.js';

const ATTEMPT_MS = 2_000;
const INTERVAL_MS = 50;

/** Waits until an h2c GET of `url` (with `authority` as :authority) answers 200; fails with the peer's output if it exits or stays silent. */
export function awaitH2Ready(proc: ManagedProcess, url: string, authority?: string, deadlineMs = 20_000): Promise<void> {
  return awaitProbe(proc, `h2c ${url}`, () => h2Status(url, authority), deadlineMs);
}

/** Waits until a message sent to `url` (tcp://host:port) comes back unchanged; fails with the peer's output if it exits or stays silent. */
export function awaitEchoReady(proc: ManagedProcess, url: string, deadlineMs = 20_000): Promise<void> {
  return awaitProbe(proc, `echo ${url}`, () => echoOnce(url), deadlineMs);
}

/** Polls `attempt` (which rejects saying why) until it resolves; on failure stops the peer, as awaitReady does. */
async function awaitProbe(proc: ManagedProcess, what: string, attempt: () => Promise<void>, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = 'no attempt';
  for (;;) {
    const exit = proc.exit();
    if (exit !== undefined) {
      last = `${proc.name} exited (${exit.signal ?? exit.code})`;
      break;
    }
    try {
      await attempt();
      return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() + INTERVAL_MS >= until) break;
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
  }
  await stopProcess(proc, 'SIGKILL', 1_000);
  throw new Error(`${proc.name} did not become ready: ${what} (last: ${last})\n--- ${proc.name} output ---\n${proc.output().slice(-3000)}`);
}

/** One GET over a fresh h2c session; rejects unless it answers 200. */
function h2Status(url: string, authority: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = connectH2(url);
    const timer = setTimeout(() => session.destroy(new Error(`no h2 reply within ${ATTEMPT_MS} ms`)), ATTEMPT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      session.destroy();
      reject(error);
    };
    session.on('error', fail);
    const headers = { [h2.HTTP2_HEADER_PATH]: '/', ...(authority === undefined ? {} : { [h2.HTTP2_HEADER_AUTHORITY]: authority }) };
    const stream = session.request(headers, { endStream: true });
    stream.on('error', fail);
    stream.on('response', (head) => {
      const status = head[h2.HTTP2_HEADER_STATUS];
      stream.resume();
      stream.on('end', () => {
        clearTimeout(timer);
        session.close();
        if (Number(status) === 200) resolve();
        else reject(new Error(`h2 status ${String(status)}`));
      });
    });
  });
}

/** One round trip of a short message on a fresh connection; rejects unless the same bytes come back. */
function echoOnce(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const message = Buffer.from('weft bench ready?\n');
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: hostname, port: Number(port), noDelay: true });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(new Error(`no echo within ${ATTEMPT_MS} ms`)), ATTEMPT_MS);
    const done = (error?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    socket.on('connect', () => socket.write(message));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < message.length) return;
      done(received.equals(message) ? undefined : new Error(`echoed ${JSON.stringify(received.toString('latin1'))}`));
    });
    socket.on('error', done);
    // A relay with no instance to send to accepts and closes: that is not ready yet.
    socket.on('end', () => done(new Error('closed before echoing')));
  });
}
