// Consul API: the agent keeps running a check whatever one run throws, and a stored check that cannot run or be read stays critical.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsulAgent, parseServiceDefinition } from '../../../src/control/consul/index.js';
import { eventually, startMemoryRegistry, stopFixtures } from './consul-fixture.js';

const probeCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../../src/control/consul/check-probe.js', () => ({
  probe: (): Promise<{ status: 'passing'; output: string }> => {
    probeCalls.count++;
    if (probeCalls.count === 1) throw new TypeError('thrown synchronously');
    if (probeCalls.count === 2) return Promise.reject(new Error('rejected'));
    return Promise.resolve({ status: 'passing', output: 'fine' });
  },
}));

const agents: ConsulAgent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.close();
  await stopFixtures();
});

const until = (check: () => boolean, what: string): Promise<true> => eventually(async () => (check() ? true : undefined), what);

describe('ConsulAgent', () => {
  it('logs a run that throws or rejects, makes the check critical and runs it again at its interval', async () => {
    const { runtime, registry, logs } = await startMemoryRegistry();
    const agent = new ConsulAgent(registry, runtime, { sweepIntervalMs: 100 });
    agents.push(agent);
    await agent.register(parseServiceDefinition({ Name: 'web', ID: 'web-1', Port: 8080, Check: { HTTP: 'http://127.0.0.1:8080/', Interval: '1s', Status: 'passing' } }));
    const check = (): { status: string; output: string } | undefined => {
      const instance = registry.get('web-1');
      return instance && agent.checksOf(instance)[0];
    };
    await until(() => probeCalls.count >= 1 && check()?.status === 'critical', 'the first (throwing) run');
    expect(check()?.output).toBe('the check failed to run');
    await until(() => check()?.status === 'passing', 'the third run');
    expect(probeCalls.count).toBe(3);
    expect(logs.filter((l) => l.msg === 'consul check failed to run').map((l) => (l.err as { message: string }).message)).toEqual(['thrown synchronously', 'rejected']);
    await until(() => registry.get('web-1')?.health === 'passing', 'the registry to hear of it');
  });

  it('keeps a stored record that does not read back as a critical check that never runs and takes no update', async () => {
    const { runtime, registry } = await startMemoryRegistry();
    const agent = new ConsulAgent(registry, runtime, { sweepIntervalMs: 100 });
    agents.push(agent);
    const before = probeCalls.count;
    await registry.register({ id: 'old-1', service: 'old', host: '127.0.0.1', port: 80, ttlMs: 30_000, meta: { 'consul-agent': '1', 'consul-check-1': '{"id":"old-check",' } });
    await until(() => registry.get('old-1')?.health === 'critical', 'the instance to turn critical');
    const instance = registry.get('old-1');
    expect(instance && agent.checksOf(instance)).toEqual([{ id: 'service:old-1:check-1', name: 'unreadable check record', status: 'critical', output: 'the stored check record is not JSON', kind: '' }]);
    expect(registry.get('old-1')?.healthReason).toBe('service:old-1:check-1: the stored check record is not JSON');
    await expect(agent.updateCheck('service:old-1:check-1', 'passing', '')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(probeCalls.count).toBe(before);
  });
});
