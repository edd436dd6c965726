// Model: what a host is, which hosts can be dialled as stored, which are loopback, and which listener hosts can take each other's connections.
import { describe, expect, it } from 'vitest';
import { checkHost, hostsOverlap, isLoopbackAddress, isValidHost } from '../../src/model/index.js';

describe('checkHost and isValidHost', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['FD00::A', 'fd00::a'],
    ['greeter-1.prod.example.', 'greeter-1.prod.example.'],
    ['db_primary', 'db_primary'],
    ['project_web_1.internal', 'project_web_1.internal'],
  ])('takes %j as %j', (text, host) => {
    expect(checkHost(text)).toMatchObject({ ok: true, host });
  });

  it.each(['a b', '[::1]', '127.0.0.1:9/x', 'x\r\ny', '', '1.2.3.999', '0x7f.1', 'a..b', '-a', 'fe80::1%eth0', `${'a'.repeat(64)}.example`])('refuses %j', (text) => {
    expect(checkHost(text).ok).toBe(false);
  });

  it('dials a stored host as it is, whatever its case, but not with surrounding spaces', () => {
    expect(isValidHost('FD00::1')).toBe(true);
    expect(isValidHost('My_Host.Example')).toBe(true);
    expect(isValidHost('10.0.0.1 ')).toBe(false);
    expect(isValidHost('a b')).toBe(false);
  });
});

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.255.0.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '[::ffff:7f00:1]'])('takes %s as loopback', (host) => {
    expect(isLoopbackAddress(host)).toBe(true);
  });

  it.each(['127.evil.example', 'localhost', '128.0.0.1', '0.0.0.0', '::', '::2', '[::1', 'fe80::1%lo', ''])('does not take %s as loopback', (host) => {
    expect(isLoopbackAddress(host)).toBe(false);
  });
});

describe('hostsOverlap', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['127.0.0.1', '::ffff:127.0.0.1'],
    ['0.0.0.0', '127.0.0.1'],
    ['::', '127.0.0.1'],
    ['::', '::1'],
    ['localhost', '127.0.0.1'],
    ['127.0.0.1', 'app.internal'],
  ])('%s and %s overlap', (a, b) => {
    expect(hostsOverlap(a, b)).toBe(true);
    expect(hostsOverlap(b, a)).toBe(true);
  });

  it.each([
    ['127.0.0.1', '127.0.0.2'],
    ['127.0.0.1', '::1'],
    ['0.0.0.0', '::1'],
    ['10.0.0.1', '10.0.0.2'],
  ])('%s and %s do not overlap', (a, b) => {
    expect(hostsOverlap(a, b)).toBe(false);
    expect(hostsOverlap(b, a)).toBe(false);
  });
});
