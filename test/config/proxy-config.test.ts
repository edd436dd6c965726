// Tests: the sidecar's control-plane URLs from flags, the YAML file and WEFT_CONTROL — one or several replicas, each URL checked; its protocol; its raw TCP upstreams.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../src/core/index.js';
import { PROXY_DEFAULTS, UpstreamPortConflictError, parseControlUrlList, resolveProxyConfig, validateProxyFile } from '../../src/config/index.js';

const PROXY_OUTBOUND_PORT = Number(PROXY_DEFAULTS.outbound.split(':')[1]);

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

describe('upstreams: raw TCP ports', () => {
  const yaml = (text: string) => validateProxyFile('s.yaml', parse(text));

  it('reads upstreams.NAME.port beside lb, and leaves out the upstreams without a port', () => {
    const file = yaml('service: api\nupstreams:\n  redis:\n    port: 6380\n    lb: least-connections\n  postgres:\n    port: 5433\n  greeter:\n    lb: random\n');
    const config = resolveProxyConfig(file, {}, {}, 's.yaml');
    expect(config.tcpUpstreams).toEqual({ redis: 6380, postgres: 5433 });
    expect(config.balancers).toEqual({ redis: 'least-connections', greeter: 'random' });
    expect(resolveProxyConfig(yaml('service: api\n'), {}, {}).tcpUpstreams).toEqual({});
  });

  it('refuses a port that is not 1-65535, or an unknown key, naming the file and the key', () => {
    expect(() => yaml('upstreams:\n  redis: { port: 0 }\n')).toThrow('s.yaml at upstreams.redis.port: expected 1-65535');
    expect(() => yaml('upstreams:\n  redis: { port: 65536 }\n')).toThrow('s.yaml at upstreams.redis.port: expected 1-65535');
    expect(() => yaml('upstreams:\n  redis: { port: 63.5 }\n')).toThrow('s.yaml at upstreams.redis.port: expected an integer');
    expect(() => yaml('upstreams:\n  redis: { port: "6380" }\n')).toThrow('s.yaml at upstreams.redis.port: expected a port number 1-65535');
    expect(() => yaml('upstreams:\n  redis: { localPort: 6380 }\n')).toThrow('s.yaml at upstreams.redis.localPort: unknown key; expected one of the documented settings');
  });

  it('takes a flag over the file per name', () => {
    const file = yaml('service: api\nupstreams:\n  redis: { port: 6380 }\n  postgres: { port: 5433 }\n');
    expect(resolveProxyConfig(file, { upstreams: { redis: 7380, mq: 5672 } }, {}, 's.yaml').tcpUpstreams).toEqual({ redis: 7380, postgres: 5433, mq: 5672 });
    // The file's redis port is given up for the flag's, so another upstream may take it.
    expect(resolveProxyConfig(file, { upstreams: { redis: 7380, mq: 6380 } }, {}, 's.yaml').tcpUpstreams).toEqual({ redis: 7380, postgres: 5433, mq: 6380 });
  });

  it('refuses one port for two upstreams, naming where each came from', () => {
    const file = yaml('service: api\nupstreams:\n  redis: { port: 6380 }\n  cache: { port: 6380 }\n');
    expect(() => resolveProxyConfig(file, {}, {}, 's.yaml')).toThrow(
      's.yaml at upstreams.cache.port: expected a local port of its own for each upstream: 6380 is already the port of the upstream redis (s.yaml at upstreams.redis.port)',
    );
    expect(() => resolveProxyConfig(yaml('service: api\nupstreams:\n  redis: { port: 6380 }\n'), { upstreams: { cache: 6380 } }, {}, 's.yaml')).toThrow(
      '--upstream cache:6380: expected a local port of its own for each upstream: 6380 is already the port of the upstream redis (s.yaml at upstreams.redis.port)',
    );
    expect(() => resolveProxyConfig({}, { service: 'api', upstreams: { redis: 6380, cache: 6380 } }, {})).toThrow(
      '--upstream cache:6380: expected a local port of its own for each upstream: 6380 is already the port of the upstream redis (--upstream redis:6380)',
    );
    expect(() => resolveProxyConfig(file, {}, {}, 's.yaml')).toThrow(UpstreamPortConflictError);
  });

  it("refuses a port of the sidecar's own listeners or of its app, naming who set each", () => {
    const expected = (port: number, what: string, address: string, setBy: string, name = 'redis') =>
      `expected a local port for ${name} that neither the sidecar nor its app listens on: ${port} is ${what} ${address} (from ${setBy})`;
    const flags = { service: 'api' };
    expect(() => resolveProxyConfig({}, { ...flags, upstreams: { redis: PROXY_OUTBOUND_PORT } }, {})).toThrow(
      `--upstream redis:${PROXY_OUTBOUND_PORT}: ${expected(PROXY_OUTBOUND_PORT, "the sidecar's outbound listener", `127.0.0.1:${PROXY_OUTBOUND_PORT}`, 'the default')}`,
    );
    expect(() => resolveProxyConfig({}, { ...flags, admin: { host: '0.0.0.0', port: 9000 }, upstreams: { redis: 9000 } }, {})).toThrow(
      `--upstream redis:9000: ${expected(9000, "the sidecar's admin listener", '0.0.0.0:9000', '--admin')}`,
    );
    expect(() => resolveProxyConfig(yaml('inbound: 127.0.0.1:7000\nupstreams:\n  redis: { port: 7000 }\n'), flags, {}, 's.yaml')).toThrow(
      `s.yaml at upstreams.redis.port: ${expected(7000, "the sidecar's inbound listener", '127.0.0.1:7000', 's.yaml at inbound')}`,
    );
    expect(() => resolveProxyConfig({}, { ...flags, appPort: 8080, upstreams: { redis: 8080 } }, {})).toThrow(
      `--upstream redis:8080: ${expected(8080, "the app's port", '127.0.0.1:8080', '--app-port')}`,
    );
    expect(() => resolveProxyConfig(yaml('appPort: 8080\nupstreams:\n  redis: { port: 8080 }\n'), flags, {})).toThrow(
      `the config file at upstreams.redis.port: ${expected(8080, "the app's port", '127.0.0.1:8080', 'the config file at appPort')}`,
    );
  });

  it('lets an upstream take a port that a listener holds only on another address', () => {
    const config = resolveProxyConfig({}, { service: 'api', outbound: { host: '10.1.2.3', port: 15001 }, upstreams: { redis: 15001 } }, {});
    expect(config.tcpUpstreams).toEqual({ redis: 15001 });
  });
});

describe('healthCheck.grpc', () => {
  it("names the app's gRPC health service, the whole server when left out", () => {
    expect(resolveProxyConfig(validateProxyFile('s.yaml', parse('service: web\nhealthCheck:\n  grpc: {}\n')), {}, {}).healthCheck.grpcService).toBe('');
    expect(resolveProxyConfig(validateProxyFile('s.yaml', parse('service: web\nhealthCheck:\n  grpc: { service: hello.Greeter }\n')), {}, {}).healthCheck.grpcService).toBe('hello.Greeter');
    expect(() => validateProxyFile('s.yaml', parse('service: web\nhealthCheck:\n  grpc: { service: 3 }\n'))).toThrow(/healthCheck\.grpc\.service.*expected a gRPC service name/);
  });
});
