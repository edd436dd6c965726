// Consul API: check records read back from instance meta — a record that does not read back is a critical entry, never dropped, never thrown.
import { describe, expect, it } from 'vitest';
import { readCheckRecords } from '../../../src/control/consul/check-record.js';
import type { Instance } from '../../../src/model/index.js';

const instance = (meta: Record<string, string>): Instance => ({ id: 'web-1', service: 'web', host: '127.0.0.1', port: 80, weight: 1, protocol: 'http1', meta, tags: [], ttlMs: 10_000, health: 'passing' });

describe('readCheckRecords', () => {
  it('reads a record of any check kind back as its definition', () => {
    const http = { id: 'service:web-1', name: 'h', kind: 'http', target: 'http://127.0.0.1/', intervalMs: 1_000, timeoutMs: 1_000, initial: 'critical', headers: { 'Bad Header': ['x'] } };
    const records = readCheckRecords(instance({ 'consul-agent': '1', 'consul-check-1': JSON.stringify(http), zone: 'a' }));
    // Whether the definition may run is decided per run: the record only has to have the shape.
    expect(records).toEqual([{ id: 'service:web-1', name: 'h', def: http }]);
  });

  it('keeps records that do not read back as unreadable entries, with an id and a reason', () => {
    const records = readCheckRecords(
      instance({
        'consul-check-1': '{not json',
        'consul-check-2': JSON.stringify({ id: 'mine', name: 'm', kind: 'grpc', initial: 'critical' }),
        'consul-check-3': JSON.stringify({ id: 'hdr', name: 'h', kind: 'http', target: 'http://127.0.0.1/', initial: 'critical', headers: { X: 'not a list' } }),
        'consul-check-4': JSON.stringify(['x']),
      }),
    );
    expect(records.map((r) => [r.id, r.def === undefined])).toEqual([
      ['service:web-1:check-1', true],
      ['mine', true],
      ['hdr', true],
      ['service:web-1:check-4', true],
    ]);
    expect(records[0]?.unreadable).toMatch(/not JSON/);
    expect(records[1]?.unreadable).toMatch(/kind/);
    expect(records[2]?.unreadable).toMatch(/headers/);
  });
});
