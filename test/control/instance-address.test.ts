// Control: host:port parsing, same-host comparison and the resolved-address guard the control plane dials through (Consul checks, stats scrapes).
import { describe, expect, it } from 'vitest';
import { isLocalOnlyAddress, ownHostRefusal, policyLookup } from '../../src/control/instance-address.js';
import { HostPolicy, parseHostPort, sameHost } from '../../src/model/index.js';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:8080', '127.0.0.1', 8080],
    ['[::1]:9', '::1', 9],
    ['[FE00::1]:65535', 'fe00::1', 65535],
    ['svc.internal:1', 'svc.internal', 1],
  ])('reads %s', (text, host, port) => {
    expect(parseHostPort(text)).toEqual({ ok: true, host, port });
  });

  it.each(['127.0.0.1:99999', '127.0.0.1:0', '127.0.0.1', ':80', 'a b:80', '10.0.0.1 :80', '::1:80', '[10.0.0.1]:80', '[::1', '127.0.0.1:9/x', 'x\r\ny:80', '[fe80::1%lo]:80', ''])(
    'refuses %j',
    (text) => {
      const parsed = parseHostPort(text);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason).not.toMatch(/[\r\n]/);
    },
  );
});

describe('sameHost', () => {
  it.each([
    ['10.0.0.7', '10.0.0.7'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['[::1]', '::1'],
    ['Svc.Internal.', 'svc.internal'],
  ])('%s is %s', (a, b) => expect(sameHost(a, b)).toBe(true));

  it.each([
    ['10.0.0.7', '10.0.0.8'],
    ['127.0.0.1', 'localhost'],
    ['127.0.0.1', '::ffff:127.0.0.1'],
  ])('%s is not %s', (a, b) => expect(sameHost(a, b)).toBe(false));
});

describe('ownHostRefusal', () => {
  const policy = new HostPolicy();

  it('accepts the own host in any spelling and refuses every other host, naming the expected one', () => {
    expect(ownHostRefusal('0:0:0:0:0:0:0:1', '::1', policy)).toBeUndefined();
    expect(ownHostRefusal('169.254.169.254', '10.0.0.7', policy)).toMatch(/own address 10\.0\.0\.7 .*169\.254\.169\.254/);
  });

  it('refuses an own host the policy refuses, such as a link-local one, and applies an operator deny list', () => {
    expect(ownHostRefusal('169.254.169.254', '169.254.169.254', policy)).toMatch(/range this control plane refuses/);
    expect(ownHostRefusal('127.0.0.1', '127.0.0.1', new HostPolicy({ deny: ['127.0.0.0/8'] }))).toMatch(/refuses/);
  });
});

describe('isLocalOnlyAddress', () => {
  it.each(['127.0.0.1', '127.9.9.9', '::1', '0.0.0.0', '::'])('%s is local only', (host) => expect(isLocalOnlyAddress(host)).toBe(true));
  it.each(['10.0.0.7', 'localhost', '::2', 'not a host'])('%s is not', (host) => expect(isLocalOnlyAddress(host)).toBe(false));
});

describe('policyLookup', () => {
  const resolve = (policy: HostPolicy, all: boolean): Promise<{ error: NodeJS.ErrnoException | null; address: unknown }> =>
    new Promise((done) => policyLookup(policy)('localhost', { all, family: 4 }, (error, address) => done({ error, address })));

  it('passes on what a name resolves to when the policy accepts it, in both callback shapes', async () => {
    expect(await resolve(new HostPolicy(), false)).toMatchObject({ error: null, address: '127.0.0.1' });
    expect(await resolve(new HostPolicy(), true)).toMatchObject({ error: null, address: [{ address: '127.0.0.1', family: 4 }] });
  });

  it('fails the lookup when the name resolves to an address the policy refuses', async () => {
    const { error } = await resolve(new HostPolicy({ deny: ['127.0.0.0/8'] }), false);
    expect(error?.message).toMatch(/^localhost resolves to 127\.0\.0\.1: .*refuses/);
  });
});
