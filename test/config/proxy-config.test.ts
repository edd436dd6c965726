// Tests: the sidecar's control-plane URLs from flags, the YAML file and WEFT_CONTROL — one or several replicas, each URL checked.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../src/core/index.js';
import { PROXY_DEFAULTS, parseControlUrlList, resolveProxyConfig, validateProxyFile } from '../../src/config/index.js';

describe('control-plane URLs in the sidecar config', () => {
  it('parses one URL, comma-separated URLs and lists, without trailing slashes or repeats', () => {
    expect(parseControlUrlList('http://127.0.0.1:8500/')).toEqual(['http://127.0.0.1:8500']);
    expect(parseControlUrlList('http://a:8500, http://b:8500,http://a:8500')).toEqual(['http://a:8500', 'http://b:8500']);
    expect(parseControlUrlList(['http://a:8500', 'https://b:8501'])).toEqual(['http://a:8500', 'https://b:8501']);
  });

  it('names the bad entry', () => {
    expect(parseControlUrlList('http://a:8500,ftp://b')).toBe('expected an http:// or https:// URL, got "ftp://b"');
    expect(parseControlUrlList('http://a:8500,b:8500:x')).toMatch(/got "b:8500:x"/);
    expect(parseControlUrlList('http://a:8500,')).toMatch(/without empty entries/);
    expect(parseControlUrlList('')).toMatch(/at least one URL/);
  });

  it('accepts a YAML list or a comma-separated string in the file', () => {
    const list = validateProxyFile('s.yaml', parse('service: web\ncontrol:\n  - http://a:8500\n  - http://b:8500\n'));
    expect(list.control).toEqual(['http://a:8500', 'http://b:8500']);
    const text = validateProxyFile('s.yaml', parse('service: web\ncontrol: http://a:8500,http://b:8500\n'));
    expect(text.control).toEqual(['http://a:8500', 'http://b:8500']);
    expect(() => validateProxyFile('s.yaml', parse('control:\n  - http://a:8500\n  - nope\n'))).toThrow('s.yaml at control: expected a URL such as http://127.0.0.1:8500, got "nope"');
    expect(() => validateProxyFile('s.yaml', parse('control: 8500\n'))).toThrow(/s\.yaml at control: expected a URL, comma-separated URLs or a list of URLs/);
  });

  it('takes flags over the file over WEFT_CONTROL over the default, and checks the environment too', () => {
    const file = validateProxyFile('s.yaml', { control: ['http://file:1'] });
    expect(resolveProxyConfig(file, { service: 'web', control: 'http://a:1,http://b:2' }, {}).control).toEqual(['http://a:1', 'http://b:2']);
    expect(resolveProxyConfig(file, { service: 'web', control: ['http://a:1'] }, {}).control).toEqual(['http://a:1']);
    expect(resolveProxyConfig(file, { service: 'web' }, { WEFT_CONTROL: 'http://env:1' }).control).toEqual(['http://file:1']);
    expect(resolveProxyConfig({}, { service: 'web' }, { WEFT_CONTROL: 'http://env:1,http://env:2' }).control).toEqual(['http://env:1', 'http://env:2']);
    expect(resolveProxyConfig({}, { service: 'web' }, {}).control).toEqual([PROXY_DEFAULTS.control]);
    expect(() => resolveProxyConfig({}, { service: 'web' }, { WEFT_CONTROL: 'http://env:1,mailto:x' })).toThrow(ConfigError);
    expect(() => resolveProxyConfig({}, { service: 'web' }, { WEFT_CONTROL: 'http://env:1,mailto:x' })).toThrow('WEFT_CONTROL: expected an http:// or https:// URL, got "mailto:x"');
  });
});

describe('protocol', () => {
  it('comes from the file unless a flag says otherwise, http1 by default', () => {
    const file = validateProxyFile('s.yaml', parse('service: web\nprotocol: grpc\n'));
    expect(resolveProxyConfig(file, {}, {}).protocol).toBe('grpc');
    expect(resolveProxyConfig(file, { protocol: 'tcp' }, {}).protocol).toBe('tcp');
    expect(resolveProxyConfig(validateProxyFile('s.yaml', parse('service: web\n')), {}, {}).protocol).toBe('http1');
  });

  it('refuses an unknown protocol, naming the file, the key and what was expected', () => {
    expect(() => validateProxyFile('s.yaml', parse('service: web\nprotocol: h2c\n'))).toThrow(/s\.yaml.*protocol.*expected one of: http1, http2, grpc, tcp/);
  });
});
