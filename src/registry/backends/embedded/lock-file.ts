// Embedded store: the data dir's lock — a Unix socket listening in the dir, which the kernel releases when its process dies, however it dies.
import { randomBytes } from 'node:crypto';
import { access, link, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { WeftError } from '../../../core/index.js';
import { errnoOf, StoreLockedError, type LockHolder } from './store-errors.js';

/*
 * Why a socket and not a pid file: a pid says nothing once it is reused, and a control plane that is PID 1 in a
 * container always comes back as PID 1. A listening socket lives exactly as long as its process: a connect that
 * succeeds proves a live holder, ECONNREFUSED proves a leftover of a dead one, and a dead socket never comes back.
 *
 * Why numbered names (LOCK.<n>.sock) and not one: taking over a dead holder's socket under the same name means
 * removing it first, and a starter that found it dead could then remove the fresh socket another starter had just
 * put there — both would hold the lock. So a dead holder's name is left in place and the next number is taken: a
 * starter listens under a private name, and once the highest number is dead (or there is none) links its socket
 * to the next one; link() never replaces a file, so of starters that found the same dead number exactly one gets
 * the next, and every later starter finds that one alive. It holds the lock once its number is the highest in the
 * dir. Only names below the holder's are removed (all dead, or starters that are about to give up), and a holder
 * that releases removes its name while still listening, so nobody ever finds it dead and claims above it.
 */
const GENERATION = /^LOCK\.(\d+)\.sock$/;
const PRIVATE = /^LOCK\.new-[0-9a-f]+\.sock$/;
const generationName = (n: number): string => `LOCK.${n}.sock`;
/** The holder's pid, for humans only: liveness is decided by the socket alone. */
const PID_FILE = 'LOCK';

/**
 * sun_path holds 108 bytes on Linux and 104 on macOS, NUL included, and libuv silently truncates a longer path,
 * which would bind a socket under the wrong name outside the data dir.
 */
const MAX_SOCKET_PATH_BYTES = 103;
const PRIVATE_SUFFIX_BYTES = 6;
/** As long as the longest name used: a private name, or a generation number with 16 digits. */
const LONGEST_NAME = `LOCK.new-${'f'.repeat(PRIVATE_SUFFIX_BYTES * 2)}.sock`;
/** A holder greets at once; one that accepted but stays silent is still alive, so waiting longer only delays the refusal. */
const PROBE_TIMEOUT_MS = 2_000;
/** Each round finds a live holder, claims a number or loses a claim to another starter; many rounds mean others keep winning. */
const ROUNDS = 8;

export interface DirLock {
  /** Removes the lock's socket and pid file and stops listening; safe to call twice. */
  release(): Promise<void>;
}

export async function acquireLock(dir: string, logger: Logger): Promise<DirLock> {
  await refuseOlderHolder(dir);
  const sockets = await socketAddresses(dir);
  let held: Held;
  try {
    held = await claim(dir, sockets, logger);
  } catch (error) {
    await sockets.close();
    throw error;
  }
  const pidFile = join(dir, PID_FILE);
  // Only informational, so a full disk must not stop the start over it.
  await writeFile(pidFile, `${process.pid}\n`).catch((error: unknown) => logger.warn({ file: pidFile, err: error }, 'could not write the pid of the store lock holder'));
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        await rm(pidFile, { force: true });
        // The name goes before the socket stops listening, so no starter ever finds it dead and claims above it
        // while the next one, finding no names, starts again from 0.
        await rm(join(dir, held.name), { force: true });
        await closeServer(held.server);
        await sockets.close();
      })()),
  };
}

/**
 * Versions before the socket lock held the dir by the `LOCK` file alone and do not know the sockets. A `LOCK` with
 * no socket beside it was written by one of them; while its process is alive it may still be writing the log, so
 * the dir is refused, as that version would. (This start's own pid, as PID 1 in a container after a crash, is no
 * holder.) Once it is stopped, or the file removed, the socket lock takes over for good.
 */
async function refuseOlderHolder(dir: string): Promise<void> {
  if ((await highestGeneration(dir)) !== undefined) return;
  let text: string;
  try {
    text = await readFile(join(dir, PID_FILE), 'utf8');
  } catch {
    return;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return;
  throw new WeftError(
    'CONFLICT',
    `data dir ${dir} is locked by process ${pid} through ${join(dir, PID_FILE)}, as weft versions before the socket lock did; stop it (or, if no weft runs there, remove that file) or use another --data-dir`,
    { details: { dir, lock: join(dir, PID_FILE), pid, since: null } },
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is another user's.
    return errnoOf(error) === 'EPERM';
  }
}

interface SocketAddresses {
  /** What to bind or connect to for the file `name` in the data dir. */
  address(name: string): string;
  close(): Promise<void>;
}

/**
 * A data dir whose socket paths fit sun_path uses them as they are. A longer one is reached through
 * /proc/self/fd/N of an open handle on the dir, which is short whatever the dir's path and names the very same
 * file for every process, so two control planes still meet at one socket. The alternatives fail worse: Linux's
 * abstract namespace is per network namespace (two containers sharing a volume but not a network would both get
 * "the lock") and any local process can squat a name there; a relative path needs a chdir, which is process-wide
 * and absent in worker threads; a short symlink elsewhere needs a writable, short, private directory and
 * outlives a crash.
 */
async function socketAddresses(dir: string): Promise<SocketAddresses> {
  const absolute = resolve(dir);
  if (Buffer.byteLength(join(absolute, LONGEST_NAME)) <= MAX_SOCKET_PATH_BYTES) {
    return { address: (name) => join(absolute, name), close: () => Promise.resolve() };
  }
  const tooLong = (why: string): WeftError =>
    new WeftError('CONFIG_INVALID', `data dir ${dir} has too long a path for its lock socket (${why}); use a shorter --data-dir`, { details: { dir } });
  if (process.platform !== 'linux') throw tooLong(`a Unix socket path holds at most ${MAX_SOCKET_PATH_BYTES} bytes`);
  const handle = await open(absolute, 'r');
  const base = `/proc/self/fd/${handle.fd}`;
  try {
    await access(base);
  } catch {
    await handle.close();
    throw tooLong(`a Unix socket path holds at most ${MAX_SOCKET_PATH_BYTES} bytes, and /proc is not mounted to reach it by a shorter one`);
  }
  return { address: (name) => `${base}/${name}`, close: () => handle.close() };
}

interface Held {
  server: Server;
  /** The generation name the lock is held under. */
  name: string;
}

async function claim(dir: string, sockets: SocketAddresses, logger: Logger): Promise<Held> {
  const greeting = `${JSON.stringify({ pid: process.pid, since: new Date().toISOString() })}\n`;
  let own = await listenPrivately(sockets, greeting, logger);
  let mine: number | undefined;
  let tookOver = false;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const top = await highestGeneration(dir);
      if (top !== undefined && top === mine) {
        if (tookOver) logger.warn({ lock: join(dir, generationName(mine)) }, 'took over a stale store lock left by a process that is gone');
        await tidy(dir, sockets, mine, own.name, logger);
        return { server: own.server, name: generationName(mine) };
      }
      if (top !== undefined) {
        const found = await probe(sockets.address(generationName(top)));
        if (found.state === 'live') throw new StoreLockedError(dir, join(dir, generationName(top)), found.holder);
        // Removed meanwhile by the holder above it, or by one that released: look again.
        if (found.state === 'gone') continue;
      }
      const next = top === undefined ? 0 : top + 1;
      try {
        await link(join(dir, own.name), join(dir, generationName(next)));
      } catch (error) {
        // Another starter took that number first: look again.
        if (errnoOf(error) === 'EEXIST') continue;
        if (errnoOf(error) !== 'ENOENT') throw error;
        // A holder's tidy-up found the private socket before it listened and removed it: listen again.
        await closeServer(own.server);
        own = await listenPrivately(sockets, greeting, logger);
        continue;
      }
      if (mine !== undefined) await rm(join(dir, generationName(mine)), { force: true });
      mine = next;
      tookOver = top !== undefined;
    }
    throw new StoreLockedError(dir, join(dir, 'LOCK.<n>.sock'), undefined);
  } catch (error) {
    if (mine !== undefined) await rm(join(dir, generationName(mine)), { force: true });
    await closeServer(own.server);
    throw error;
  }
}

async function highestGeneration(dir: string): Promise<number | undefined> {
  let top: number | undefined;
  for (const name of await readdir(dir)) {
    const n = GENERATION.exec(name)?.[1];
    if (n !== undefined && (top === undefined || Number(n) > top)) top = Number(n);
  }
  return top;
}

/** Leaves one socket file in the dir: removes the lower numbers, this holder's private name and dead starters' ones. */
async function tidy(dir: string, sockets: SocketAddresses, mine: number, ownPrivate: string, logger: Logger): Promise<void> {
  const names = await readdir(dir).catch(() => [ownPrivate]);
  for (const name of names) {
    try {
      const n = GENERATION.exec(name)?.[1];
      const old = n !== undefined ? Number(n) < mine : name === ownPrivate || (PRIVATE.test(name) && (await probe(sockets.address(name))).state !== 'live');
      if (old) await rm(join(dir, name), { force: true });
    } catch (error) {
      logger.warn({ dir, name, err: error }, 'could not remove an old store lock socket');
    }
  }
}

async function listenPrivately(sockets: SocketAddresses, greeting: string, logger: Logger): Promise<{ server: Server; name: string }> {
  const name = `LOCK.new-${randomBytes(PRIVATE_SUFFIX_BYTES).toString('hex')}.sock`;
  const server = createServer((socket) => {
    socket.unref();
    // A prober that goes away mid-greeting is no concern of the holder.
    socket.on('error', () => undefined);
    socket.end(greeting, () => socket.destroy());
  });
  // Unref'd: the lock never keeps the process alive.
  server.unref();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(sockets.address(name), () => {
      server.off('error', fail);
      done();
    });
  });
  server.on('error', (error) => logger.warn({ err: error }, 'store lock socket failed; the lock stays held'));
  return { server, name };
}

/** libuv unlinks the path a socket was bound under as it closes it: only the private name, gone by then or never claimed. */
function closeServer(server: Server): Promise<void> {
  return new Promise((done) => server.close(() => done()));
}

type Probe = { state: 'live'; holder: LockHolder | undefined } | { state: 'stale' } | { state: 'gone' };

/** Connects to a lock socket: live (with the holder's greeting when it sent one), stale (nothing listens) or gone (no file, or about to be). */
function probe(address: string): Promise<Probe> {
  return new Promise((resolveProbe, reject) => {
    const socket = connect(address);
    let connected = false;
    let greeting = '';
    let settled = false;
    const settle = (result: Probe | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolveProbe(result);
    };
    const live = (): Probe => ({ state: 'live', holder: parseGreeting(greeting) });
    // Not even connected by then is no proof of death either: refusing is the safe answer.
    const timer = setTimeout(() => settle(live()), PROBE_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('connect', () => (connected = true));
    socket.on('data', (chunk: string) => {
      greeting = (greeting + chunk).slice(0, 1024);
      if (greeting.includes('\n')) settle(live());
    });
    socket.on('end', () => settle(live()));
    socket.on('error', (error) => {
      if (connected) return settle(live());
      switch (errnoOf(error)) {
        case 'ECONNREFUSED':
          return settle({ state: 'stale' });
        // ECONNRESET: closed while we connected; the next look tells whether it was released or its process died.
        case 'ENOENT':
        case 'ECONNRESET':
          return settle({ state: 'gone' });
        case 'EAGAIN':
          // A full backlog: someone is listening.
          return settle(live());
        default:
          return settle(error);
      }
    });
  });
}

function parseGreeting(greeting: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(greeting.split('\n')[0] ?? '') as { pid?: unknown; since?: unknown };
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid)) return undefined;
    return { pid: parsed.pid, ...(typeof parsed.since === 'string' ? { since: parsed.since } : {}) };
  } catch {
    return undefined;
  }
}
