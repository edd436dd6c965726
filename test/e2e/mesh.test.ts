// E2E: a whole mesh of real processes: control plane, three `weft run` greeters and a client sidecar.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, signalProcess, stopAll, waitForHttp, type ManagedProcess } from '../support/index.js';
import { adminTokenOf, GREETER_APP, HttpClient, pollUntil, runWeft, startWeft, steadyTraffic } from './weft-cli.js';

interface InstancesJson {
  instances: { id: string; health: string }[];
}

describe('mesh end to end', () => {
  let dataDir: string;
  let controlUrl: string;
  let controlPort: number;
  let outboundUrl: string;
  let adminUrl: string;
  let control: ManagedProcess;
  /** The admin token, for the CLI and the sidecars (WEFT_TOKEN). */
  let token: string;
  const greeters: ManagedProcess[] = [];
  const http = new HttpClient();

  const startControl = () =>
    startWeft('control', ['control', '--listen', `127.0.0.1:${controlPort}`, '--data-dir', dataDir, '--critical-remove-after', '1000']);
  const greeterIds = async (): Promise<string[]> => {
    const result = await runWeft(['instances', 'greeter', '--json', '--control', controlUrl], { WEFT_TOKEN: token });
    if (result.code !== 0) throw new Error(result.stderr);
    return (JSON.parse(result.stdout) as InstancesJson).instances.filter((i) => i.health === 'passing').map((i) => i.id).sort();
  };
  const hello = () => http.send(`${outboundUrl}/hello?name=e2e`, { headers: { host: 'greeter' } });
  const instanceOf = (body: string) => (JSON.parse(body) as { instance: string }).instance;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'weft-e2e-'));
    const [cp, outbound, admin] = await freePorts(3);
    controlPort = cp!;
    controlUrl = `http://127.0.0.1:${controlPort}`;
    outboundUrl = `http://127.0.0.1:${outbound}`;
    adminUrl = `http://127.0.0.1:${admin}`;
    control = startControl();
    await waitForHttp(`${controlUrl}/healthz`, 15_000, { process: control });
    token = await adminTokenOf(dataDir);
    for (let i = 1; i <= 3; i++) {
      greeters.push(
        startWeft(
          `greeter-${i}`,
          ['run', '--service', 'greeter', '--id', `greeter-${i}`, '--control', controlUrl, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0',
            '--ttl', '2000', '--health-interval', '200', '--', process.execPath, GREETER_APP],
          { env: { INSTANCE: `greeter-${i}`, WEFT_TOKEN: token }, group: true },
        ),
      );
    }
    startWeft('client', ['proxy', '--service', 'client', '--control', controlUrl, '--outbound', `127.0.0.1:${outbound}`, '--admin', `127.0.0.1:${admin}`], { env: { WEFT_TOKEN: token } });
    await pollUntil('three passing greeters in the registry', 20_000, async () =>
      (await greeterIds()).length === 3 ? true : undefined,
    );
    await pollUntil('the client sidecar to see three greeters', 10_000, async () => {
      const snapshot = JSON.parse((await http.send(`${adminUrl}/snapshot`)).body) as { services: Record<string, { health: string }[]> };
      return snapshot.services.greeter?.filter((e) => e.health === 'passing').length === 3 ? true : undefined;
    });
    // Ready means it also holds its certificate: the greeters' inbound ports are mTLS-only.
    await pollUntil('the client sidecar to be ready', 10_000, async () => ((await http.send(`${adminUrl}/ready`)).status === 200 ? true : undefined));
  }, 60_000);

  afterAll(async () => {
    http.close();
    await stopAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('spreads 300 requests 100/100/100 under round-robin', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const reply = await hello();
      expect(reply.status).toBe(200);
      const instance = instanceOf(reply.body);
      counts.set(instance, (counts.get(instance) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ 'greeter-1': 100, 'greeter-2': 100, 'greeter-3': 100 });
  });

  it('loses no request when a whole instance is SIGKILLed during steady traffic, and forgets it after its TTL', async () => {
    const { failures, done, acted } = await steadyTraffic(hello, {
      workers: 4,
      requests: 150,
      at: { count: 100, action: () => signalProcess(greeters[2]!, 'SIGKILL') },
    });
    expect(acted).toBe(true);
    expect(failures).toEqual([]);
    expect(done).toBe(600);

    const ids = await pollUntil('greeter-3 to leave the registry', 20_000, async () => {
      const current = await greeterIds();
      return current.includes('greeter-3') ? undefined : current;
    });
    expect(ids).toEqual(['greeter-1', 'greeter-2']);
  }, 60_000);

  it('keeps routing from the last snapshot while the control plane is down, and is whole again after a restart', async () => {
    signalProcess(control, 'SIGKILL');
    await control.exited;
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const reply = await hello();
      expect(reply.status).toBe(200);
      seen.add(instanceOf(reply.body));
    }
    expect([...seen].sort()).toEqual(['greeter-1', 'greeter-2']);

    control = startControl();
    await waitForHttp(`${controlUrl}/healthz`, 15_000, { process: control });
    expect(await greeterIds()).toEqual(['greeter-1', 'greeter-2']);
    // Heartbeats keep the reloaded instances alive past their TTL.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await greeterIds()).toEqual(['greeter-1', 'greeter-2']);
    const reply = await hello();
    expect(reply.status).toBe(200);
  }, 60_000);

  it('answers an unknown service with 503 NO_ENDPOINTS', async () => {
    const reply = await http.send(`${outboundUrl}/`, { headers: { host: 'nosuch.weft:80' } });
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'NO_ENDPOINTS' });
  });
});
