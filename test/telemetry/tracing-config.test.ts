// Telemetry: tracing settings from --trace-otlp/--trace-sample and the YAML `tracing:` key, and their errors.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { loadProxyFile, resolveProxyConfig, validateProxyFile } from '../../src/config/index.js';
import { proxyConfigFromOptions } from '../../src/cli/proxy-options.js';
import { ConfigError } from '../../src/core/index.js';
import { parseProxyFlags as parseFlags } from '../cli/proxy-flag-fixtures.js';

const URL = 'http://127.0.0.1:4318/v1/traces';

describe('tracing settings', () => {
  it('are off by default', () => {
    expect(resolveProxyConfig({}, { service: 'web' }, {}).tracing).toBeUndefined();
  });

  it('come from the YAML key tracing, sampling everything unless told, flags winning', () => {
    expect(resolveProxyConfig(validateProxyFile('weft.yaml', { tracing: { otlp: URL } }), { service: 'web' }, {}).tracing).toEqual({ otlp: URL, sample: 1 });
    const file = validateProxyFile('weft.yaml', { service: 'web', tracing: { otlp: URL, sample: 0.1 } });
    expect(resolveProxyConfig(file, {}, {}).tracing).toEqual({ otlp: URL, sample: 0.1 });
    expect(resolveProxyConfig(file, { traceOtlp: 'https://collector:4318/v1/traces', traceSample: 0.5 }, {}).tracing).toEqual({ otlp: 'https://collector:4318/v1/traces', sample: 0.5 });
  });

  it('are read from --trace-otlp and --trace-sample', async () => {
    const config = await proxyConfigFromOptions(parseFlags(['--service', 'web', '--trace-otlp', URL, '--trace-sample', '0.25']));
    expect(config.tracing).toEqual({ otlp: URL, sample: 0.25 });
  });

  it('reject bad flags with what was expected', async () => {
    expect(() => parseFlags(['--trace-otlp', '127.0.0.1:4318'])).toThrow(/OTLP\/HTTP traces URL/);
    expect(() => parseFlags(['--trace-otlp', 'grpc://127.0.0.1:4317'])).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseFlags(['--trace-sample', '2'])).toThrow(/ratio from 0 to 1/);
    // A ratio without a receiver is a mistake, not a silent no-op.
    await expect(proxyConfigFromOptions(parseFlags(['--service', 'web', '--trace-sample', '0.5']))).rejects.toThrow(/--trace-sample.*--trace-otlp/);
  });

  it('name the file, the path and the expectation for a bad YAML tracing key', async () => {
    const cases: [unknown, RegExp][] = [
      [{ tracing: { otlp: 'not a url' } }, /tracing\.otlp.*OTLP\/HTTP traces URL/],
      [{ tracing: { otlp: URL, sample: -0.1 } }, /tracing\.sample.*0 to 1/],
      [{ tracing: { sample: 0.5 } }, /tracing\.otlp/],
      [{ tracing: { otlp: URL, ratio: 0.5 } }, /tracing\.ratio.*unknown key/],
      [{ tracing: 'on' }, /tracing/],
    ];
    for (const [value, message] of cases) {
      expect(() => validateProxyFile('weft.yaml', value)).toThrow(ConfigError);
      expect(() => validateProxyFile('weft.yaml', value)).toThrow(message);
    }
    const dir = await mkdtemp(join(tmpdir(), 'weft-tracing-config-'));
    try {
      const file = join(dir, 'weft.yaml');
      await writeFile(file, 'service: web\ntracing:\n  otlp: ftp://collector/v1/traces\n');
      await expect(loadProxyFile(file)).rejects.toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*tracing\\.otlp.*http:// or https://`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
