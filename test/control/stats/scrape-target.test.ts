// Control stats: a sidecar is scraped on its instance's own host at the port of its weft.admin meta, or not at all.
import { describe, expect, it } from 'vitest';
import { scrapeTarget } from '../../../src/control/stats/scrape-target.js';
import { ADMIN_META_KEY, HostPolicy, type Instance } from '../../../src/model/index.js';

const instance = (host: string, admin: string): Instance => ({ id: 'web-1', service: 'web', host, port: 80, weight: 1, protocol: 'http1', meta: { [ADMIN_META_KEY]: admin }, tags: [], ttlMs: 10_000, health: 'passing' });
const policy = new HostPolicy();

describe('scrapeTarget', () => {
  it.each([
    ['10.0.0.7', '10.0.0.7:15000', 15000],
    ['fd00::7', '[fd00:0::7]:15000', 15000],
    // A sidecar whose admin listens on loopback or every interface advertises that: its port on the instance's host is meant.
    ['10.0.0.7', '127.0.0.1:15001', 15001],
    ['10.0.0.7', '0.0.0.0:15002', 15002],
    ['10.0.0.7', '[::]:15003', 15003],
  ])('scrapes an instance at %s with weft.admin %s on its own host', (host, admin, port) => {
    expect(scrapeTarget(instance(host, admin), policy)).toEqual({ ok: true, host, port });
  });

  it.each([
    ['10.0.0.7', '10.0.0.8:15000', /^weft\.admin 10\.0\.0\.8:15000: expected the service's own address 10\.0\.0\.7/],
    ['10.0.0.7', '169.254.169.254:80', /own address/],
    ['10.0.0.7', '127.0.0.1:99999', /^weft\.admin: .*port 1-65535/],
    ['10.0.0.7', 'http://10.0.0.7:15000', /^weft\.admin: .*not host:port/],
    ['10.0.0.7', '10.0.0.7:1\r\nX: y', /^weft\.admin: "10\.0\.0\.7:1\\r\\nX: y"/],
    ['10.0.0.7', '', /^weft\.admin: /],
    ['169.254.169.254', '169.254.169.254:15000', /range this control plane refuses/],
  ])('does not scrape an instance at %s with weft.admin %j', (host, admin, reason) => {
    const target = scrapeTarget(instance(host, admin), policy);
    expect(target.ok).toBe(false);
    if (!target.ok) expect(target.reason).toMatch(reason);
  });
});
