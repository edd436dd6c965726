// E2E: two control planes on one etcd serve one mesh; killing either under steady traffic fails no request and drops no instance.
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, requireEtcd, signalProcess, startEtcd, stopAll, waitForHttp, type EtcdCluster, type ManagedProcess } from '../support/index.js';
import { adminTokenOf, GREETER_APP, HttpClient, pollUntil, runWeft, startWeft, steadyTraffic } from './weft-cli.js';

const etcdBinary = await requireEtcd();

interface InstancesJson {
  instances: { id: string; health: string }[];
}

describe.skipIf(etcdBinary === undefined)('highly available control plane on etcd', () => {
  let etcd: EtcdCluster;
  const controls: ManagedProcess[] = [];
  const controlUrls: string[] = [];
  let outboundUrl: string;
  let dir: string;
  /** The admin token the first control plane made; the second finds it in etcd and makes none. */
  let token: string;
  const http = new HttpClient();

  const passingGreeters = async (controlUrl: string): Promise<string[]> => {
    const result = await runWeft(['instances', 'greeter', '--json', '--control', controlUrl], { WEFT_TOKEN: token });
    if (result.code !== 0) throw new Error(result.stderr);
    return (JSON.parse(result.stdout) as InstancesJson).instances.filter((i) => i.health === 'passing').map((i) => i.id).sort();
  };
  const hello = () => http.send(`${outboundUrl}/hello?name=ha`, { headers: { host: 'greeter' } });

  beforeAll(async () => {
    etcd = await startEtcd(etcdBinary!);
    dir = await mkdtemp(join(tmpdir(), 'weft-ha-'));
    const [c1, c2, outbound, admin] = await freePorts(4);
    for (const port of [c1!, c2!]) {
      const control = startWeft(`control-${port}`, ['control', '--listen', `127.0.0.1:${port}`, '--store', `etcd://${etcd.endpoints}`, '--data-dir', join(dir, String(port)), '--critical-remove-after', '2000']);
      controls.push(control);
      controlUrls.push(`http://127.0.0.1:${port}`);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 15_000, { process: control });
    }
    token = await adminTokenOf(join(dir, String(c1!)));
    await expect(access(join(dir, String(c2!), 'admin.token'))).rejects.toMatchObject({ code: 'ENOENT' });
    const both = controlUrls.join(',');
    for (let i = 1; i <= 3; i++) {
      startWeft(
        `greeter-${i}`,
        ['run', '--service', 'greeter', '--id', `greeter-${i}`, '--control', both, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--ttl', '3000', '--health-interval', '200', '--', process.execPath, GREETER_APP],
        { env: { INSTANCE: `greeter-${i}`, WEFT_TOKEN: token }, group: true },
      );
    }
    outboundUrl = `http://127.0.0.1:${outbound}`;
    startWeft('client', ['proxy', '--service', 'client', '--control', both, '--outbound', `127.0.0.1:${outbound}`, '--admin', `127.0.0.1:${admin}`], { env: { WEFT_TOKEN: token } });
    await pollUntil('three passing greeters seen by both control planes', 20_000, async () =>
      (await passingGreeters(controlUrls[0]!)).length === 3 && (await passingGreeters(controlUrls[1]!)).length === 3 ? true : undefined,
    );
    await pollUntil('traffic through the client sidecar', 10_000, async () => ((await hello()).status === 200 ? true : undefined));
  }, 90_000);

  afterAll(async () => {
    http.close();
    await stopAll();
    await etcd?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('registers through either control plane and shows one view', async () => {
    expect(await passingGreeters(controlUrls[0]!)).toEqual(['greeter-1', 'greeter-2', 'greeter-3']);
    expect(await passingGreeters(controlUrls[1]!)).toEqual(['greeter-1', 'greeter-2', 'greeter-3']);
  });

  it('fails no request and drops no instance when a control plane is killed under steady traffic', async () => {
    const survivor = controlUrls[1]!;
    const health: string[][] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        health.push(await passingGreeters(survivor).catch(() => ['(unreachable)']));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    // Bounded: 4 workers x 300 requests, about three TTLs of traffic at this pace.
    const { failures, done, acted } = await steadyTraffic(hello, {
      workers: 4,
      requests: 300,
      pauseMs: 25,
      at: { count: 100, action: () => signalProcess(controls[0]!, 'SIGKILL') },
    });
    // Readings go on after the traffic until there are enough of them (each is a CLI run, slow on a loaded machine), at most 20 s.
    const readingsUntil = Date.now() + 20_000;
    while (health.length <= 5 && Date.now() < readingsUntil) await new Promise((resolve) => setTimeout(resolve, 200));
    watching = false;
    await watcher;
    expect(acted).toBe(true);
    expect(failures).toEqual([]);
    expect(done).toBe(1200);
    // Every reading of the surviving control plane, through and after the failover, shows all three passing.
    expect(health.length).toBeGreaterThan(5);
    expect(health.filter((ids) => ids.join() !== 'greeter-1,greeter-2,greeter-3')).toEqual([]);
  }, 90_000);
});
