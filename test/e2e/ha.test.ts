// E2E: two control planes on one etcd serve one mesh; killing either under steady traffic fails no request and drops no instance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, requireEtcd, signalProcess, startEtcd, stopAll, waitForHttp, type EtcdCluster, type ManagedProcess } from '../support/index.js';
import { GREETER_APP, HttpClient, pollUntil, runWeft, startWeft, steadyTraffic } from './weft-cli.js';

const etcdBinary = await requireEtcd();

interface InstancesJson {
  instances: { id: string; health: string }[];
}

describe.skipIf(etcdBinary === undefined)('highly available control plane on etcd', () => {
  let etcd: EtcdCluster;
  const controls: ManagedProcess[] = [];
  const controlUrls: string[] = [];
  let outboundUrl: string;
  const http = new HttpClient();

  const passingGreeters = async (controlUrl: string): Promise<string[]> => {
    const result = await runWeft(['instances', 'greeter', '--json', '--control', controlUrl]);
    if (result.code !== 0) throw new Error(result.stderr);
    return (JSON.parse(result.stdout) as InstancesJson).instances.filter((i) => i.health === 'passing').map((i) => i.id).sort();
  };
  const hello = () => http.send(`${outboundUrl}/hello?name=ha`, { headers: { host: 'greeter' } });

  beforeAll(async () => {
    etcd = await startEtcd(etcdBinary!);
    const [c1, c2, outbound, admin] = await freePorts(4);
    for (const port of [c1!, c2!]) {
      const control = startWeft(`control-${port}`, ['control', '--listen', `127.0.0.1:${port}`, '--store', `etcd://${etcd.endpoints}`, '--critical-remove-after', '2000']);
      controls.push(control);
      controlUrls.push(`http://127.0.0.1:${port}`);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 15_000, { process: control });
    }
    const both = controlUrls.join(',');
    for (let i = 1; i <= 3; i++) {
      startWeft(
        `greeter-${i}`,
        ['run', '--service', 'greeter', '--id', `greeter-${i}`, '--control', both, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--ttl', '3000', '--health-interval', '200', '--', process.execPath, GREETER_APP],
        { env: { INSTANCE: `greeter-${i}` }, group: true },
      );
    }
    outboundUrl = `http://127.0.0.1:${outbound}`;
    startWeft('client', ['proxy', '--service', 'client', '--control', both, '--outbound', `127.0.0.1:${outbound}`, '--admin', `127.0.0.1:${admin}`]);
    await pollUntil('three passing greeters seen by both control planes', 20_000, async () =>
      (await passingGreeters(controlUrls[0]!)).length === 3 && (await passingGreeters(controlUrls[1]!)).length === 3 ? true : undefined,
    );
    await pollUntil('traffic through the client sidecar', 10_000, async () => ((await hello()).status === 200 ? true : undefined));
  }, 90_000);

  afterAll(async () => {
    http.close();
    await stopAll();
    await etcd?.close();
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
