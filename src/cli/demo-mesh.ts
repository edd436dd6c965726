// CLI: the demo mesh behind `weft demo`: a control plane, three greeter instances and a frontend, each a real `weft` process.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bearerCredentials, ControlClient } from '../workload/control-client.js';
import { preferredPort } from './free-port.js';

const WEFT_BIN = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export interface DemoOptions {
  dataDir: string;
  durationSeconds?: number;
  /** Background requests per second to the frontend. */
  rate: number;
  out: NodeJS.WritableStream;
}

interface DemoPorts {
  control: number;
  frontendApp: number;
  frontendInbound: number;
  frontendOutbound: number;
  frontendAdmin: number;
  greeterAdmins: number[];
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const ports: DemoPorts = {
    control: await preferredPort(8500),
    frontendApp: await preferredPort(3000),
    frontendInbound: await preferredPort(3001),
    frontendOutbound: await preferredPort(15001),
    frontendAdmin: await preferredPort(15000),
    greeterAdmins: [await preferredPort(15100), await preferredPort(15101), await preferredPort(15102)],
  };
  const control = `http://127.0.0.1:${ports.control}`;
  const children: ChildProcess[] = [];
  const start = (name: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, [WEFT_BIN, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WEFT_LOG_LEVEL: process.env.WEFT_LOG_LEVEL ?? 'warn', ...env },
    });
    child.once('exit', (code, signal) => {
      if (!stopping) options.out.write(`demo: ${name} exited (${signal ?? code})\n`);
    });
    children.push(child);
    return child;
  };
  let stopping = false;
  // The control plane goes last, so that the sidecars can deregister on their way out.
  const stopAll = async () => {
    stopping = true;
    const [controlPlane, ...rest] = children;
    await Promise.all(rest.map((child) => stopChild(child)));
    if (controlPlane) await stopChild(controlPlane);
  };

  try {
    // Reads are open so that the dashboard and the read-only hints below need no token; changes still do.
    start('control', ['control', '--listen', `127.0.0.1:${ports.control}`, '--data-dir', options.dataDir, '--open-read']);
    await waitFor(() => httpStatus(`${control}/healthz`).then((s) => s === 200), 15_000, 'the control plane');
    const joinTokens = await demoJoinTokens(control, options.dataDir, ['greeter', 'frontend']);
    await demoEdgePolicy(control, options.dataDir);
    for (let i = 0; i < 3; i++) {
      start(
        `greeter-${i + 1}`,
        ['run', '--service', 'greeter', '--id', `greeter-${i + 1}`, '--control', control, '--outbound', '127.0.0.1:0',
          '--admin', `127.0.0.1:${ports.greeterAdmins[i]}`, '--health-path', '/health', '--ttl', '3000', '--', process.execPath, `${EXAMPLES}greeter/server.js`],
        { INSTANCE: `greeter-${i + 1}`, WEFT_TOKEN: joinTokens.get('greeter') },
      );
    }
    start('frontend', [
      'run', '--service', 'frontend', '--id', 'frontend-1', '--control', control, '--app-port', String(ports.frontendApp),
      '--inbound', `127.0.0.1:${ports.frontendInbound}`, '--outbound', `127.0.0.1:${ports.frontendOutbound}`, '--admin', `127.0.0.1:${ports.frontendAdmin}`, '--ttl', '3000',
      '--', process.execPath, `${EXAMPLES}frontend/server.js`,
    ], { WEFT_TOKEN: joinTokens.get('frontend') });
    // Traffic enters through the frontend's inbound sidecar, as a caller from outside the mesh would, so the
    // frontend has golden metrics of its own and not only greeter.
    const frontendUrl = `http://127.0.0.1:${ports.frontendInbound}/`;
    await waitFor(() => httpStatus(frontendUrl).then((s) => s === 200), 20_000, 'the frontend to reach greeter');
    options.out.write(instructions(ports));
    return await backgroundTraffic(frontendUrl, options);
  } finally {
    await stopAll();
  }
}

/** Each sidecar gets a join token for its own service, made with the admin token the control plane wrote to its data dir. */
async function demoJoinTokens(control: string, dataDir: string, services: readonly string[]): Promise<Map<string, string>> {
  const admin = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
  const client = new ControlClient({ url: control, credentials: bearerCredentials(admin) });
  try {
    const tokens = new Map<string, string>();
    for (const service of services) {
      const reply = await client.createToken({ kind: 'join', service, description: 'weft demo sidecar' });
      tokens.set(service, reply.token);
    }
    return tokens;
  } finally {
    client.close();
  }
}

/**
 * Traffic enters the frontend from outside the mesh, in plaintext: the frontend is an edge service, so its
 * inbound port is permissive (mTLS from peers, plaintext from the outside). greeter stays strict, the default.
 */
async function demoEdgePolicy(control: string, dataDir: string): Promise<void> {
  const admin = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
  const client = new ControlClient({ url: control, credentials: bearerCredentials(admin) });
  try {
    await client.putPolicy({ service: 'frontend', mtls: 'permissive' });
  } finally {
    client.close();
  }
}

function instructions(ports: DemoPorts): string {
  const control = `http://127.0.0.1:${ports.control}`;
  return [
    '',
    'weft demo is running: control plane, 3 x greeter, frontend -> greeter through its sidecar.',
    '',
    `Dashboard: ${control}/`,
    '',
    'Try:',
    `  curl http://127.0.0.1:${ports.frontendInbound}/                                  # frontend (through its inbound sidecar) calls greeter via the mesh`,
    `  curl -H 'Host: greeter' 'http://127.0.0.1:${ports.frontendOutbound}/hello?name=you'   # straight through the frontend's sidecar`,
    `  npx weft services --control ${control}`,
    `  npx weft instances greeter --control ${control}`,
    `  npx weft stat --control ${control}                                 # success rate, RPS, latency per service`,
    `  curl http://127.0.0.1:${ports.frontendAdmin}/metrics                          # sidecar golden metrics`,
    `  curl http://127.0.0.1:${ports.frontendAdmin}/snapshot                         # what the sidecar knows`,
    `  curl ${control}/metrics                                                # control-plane metrics`,
    '',
    'Background traffic: frontend is called a few times a second; a summary prints every 10 s. Ctrl-C stops everything.',
    '',
  ].join('\n');
}

async function backgroundTraffic(url: string, options: DemoOptions): Promise<number> {
  const deadline = options.durationSeconds === undefined ? Infinity : Date.now() + options.durationSeconds * 1000;
  const counts = { ok: 0, failed: 0 };
  const byInstance = new Map<string, number>();
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let lastReport = Date.now();
  const intervalMs = 1000 / options.rate;
  while (!interrupted && Date.now() < deadline) {
    const reply = await httpGet(url).catch(() => undefined);
    if (reply?.status === 200) {
      counts.ok++;
      const instance = /"instance":"([^"]+)"/.exec(reply.body)?.[1] ?? 'unknown';
      byInstance.set(instance, (byInstance.get(instance) ?? 0) + 1);
    } else counts.failed++;
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      const spread = [...byInstance].map(([name, n]) => `${name}=${n}`).join(' ');
      options.out.write(`traffic: ${counts.ok} ok, ${counts.failed} failed; by greeter instance: ${spread}\n`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  process.removeListener('SIGINT', interrupt);
  process.removeListener('SIGTERM', interrupt);
  options.out.write(`demo finished: ${counts.ok} requests ok, ${counts.failed} failed\n`);
  return counts.failed === 0 ? 0 : 1;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`demo: timed out after ${timeoutMs} ms waiting for ${what}`);
}

function httpStatus(url: string): Promise<number> {
  return httpGet(url).then((reply) => reply.status);
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
