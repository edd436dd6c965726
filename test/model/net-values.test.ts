// Model: which hosts are loopback addresses and which listener hosts can take each other's connections.
import { describe, expect, it } from 'vitest';
import { hostsOverlap, isLoopbackAddress } from '../../src/model/index.js';

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
