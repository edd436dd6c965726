import { describe, it, expect } from 'vitest';
import { resolveProxyConfig, validateProxyFile } from '../../src/config/index.js';
import { proxyConfigFromOptions } from '../../src/cli/proxy-options.js';
import { ConfigError } from '../../src/core/index.js';
import { parseProxyFlags as parseFlags } from '../cli/proxy-flag-fixtures.js';

describe('access log and Fluent settings', () => {
  it('are off by default', () => {
    const config = resolveProxyConfig({}, { service: 'web' }, {});
    expect(config.accessLog).toEqual({ path: undefined, sample: 1 });
    expect(config.fluent).toBeUndefined();
  });

  it('come from the YAML keys accessLog and fluent, flags winning', () => {
    const file = validateProxyFile('weft.yaml', { service: 'web', accessLog: { path: '/tmp/a.log', sample: 0.5 }, fluent: { host: 'fluent', port: 24224, tag: 'mesh.prod' } });
    expect(resolveProxyConfig(file, {}, {})).toMatchObject({ accessLog: { path: '/tmp/a.log', sample: 0.5 }, fluent: { host: 'fluent', port: 24224, tag: 'mesh.prod' } });
    const flagged = resolveProxyConfig(file, { accessLog: '-', accessLogSample: 0.1, fluent: { host: '127.0.0.1', port: 5170 } }, {});
    expect(flagged).toMatchObject({ accessLog: { path: '-', sample: 0.1 }, fluent: { host: '127.0.0.1', port: 5170, tag: 'mesh.prod' } });
  });

  it('name the bad key and what was expected', () => {
    expect(() => validateProxyFile('weft.yaml', { accessLog: { sample: 2 } })).toThrow(ConfigError);
    expect(() => validateProxyFile('weft.yaml', { accessLog: { sample: 2 } })).toThrow(/accessLog\.sample.*0 to 1/);
    expect(() => validateProxyFile('weft.yaml', { fluent: { host: 'x', port: 24224, tag: 'bad tag' } })).toThrow(/fluent\.tag/);
    expect(() => validateProxyFile('weft.yaml', { fluent: { port: 24224 } })).toThrow(/fluent\.host/);
  });

  it('are read from --access-log, --access-log-sample and --fluent', async () => {
    const options = parseFlags(['--service', 'web', '--access-log', '/var/log/weft.log', '--access-log-sample', '0.25', '--fluent', '127.0.0.1:24224']);
    const config = await proxyConfigFromOptions(options);
    expect(config.accessLog).toEqual({ path: '/var/log/weft.log', sample: 0.25 });
    expect(config.fluent).toEqual({ host: '127.0.0.1', port: 24224, tag: 'weft' });
    expect(() => parseFlags(['--access-log-sample', '1.5'])).toThrow(/ratio from 0 to 1/);
    expect(() => parseFlags(['--access-log-sample', 'half'])).toThrow(/ratio from 0 to 1/);
  });
});
