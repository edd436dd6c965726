// CLI: the sidecar flags for Istio-compatible metrics, the app's protocol and raw TCP upstreams, parsed by commander into the sidecar's config.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { addProxyOptions, proxyConfigFromOptions, type ProxyCommandOptions } from '../../src/cli/proxy-options.js';

function parseFlags(args: string[]): ProxyCommandOptions {
  const command = addProxyOptions(new Command('proxy')).exitOverride().configureOutput({ writeErr: () => undefined });
  command.parse(args, { from: 'user' });
  return command.opts<ProxyCommandOptions>();
}

describe('--istio-metrics and --istio-namespace', () => {
  it('turn the Istio metrics on, in the namespace given', async () => {
    const config = await proxyConfigFromOptions(parseFlags(['--service', 'web', '--istio-metrics', '--istio-namespace', 'prod']));
    expect(config.metrics).toEqual({ istio: true, namespace: 'prod' });
  });

  it('refuses a namespace that is not a DNS label', () => {
    expect(() => parseFlags(['--service', 'web', '--istio-namespace', 'Prod'])).toThrow(/expected a namespace name/);
  });
});

describe('--protocol', () => {
  it('is http1 unless told, and takes each declared protocol', async () => {
    expect((await proxyConfigFromOptions(parseFlags(['--service', 'web']))).protocol).toBe('http1');
    for (const protocol of ['http1', 'http2', 'grpc', 'tcp']) {
      expect((await proxyConfigFromOptions(parseFlags(['--service', 'web', '--protocol', protocol]))).protocol).toBe(protocol);
    }
  });

  it('refuses a protocol it does not know, naming the ones it does', () => {
    expect(() => parseFlags(['--service', 'web', '--protocol', 'h2'])).toThrow(/expected one of http1, http2, grpc, tcp, got "h2"/);
  });
});

describe('--upstream', () => {
  const upstreamError = (value: string, expected: string): RegExp =>
    new RegExp(`option '--upstream <name:localport>' argument '${value}' is invalid\\. ${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);

  it('opens one local port per upstream, repeatable', async () => {
    const config = await proxyConfigFromOptions(parseFlags(['--service', 'api', '--upstream', 'redis:6380', '--upstream', 'postgres:5433']));
    expect(config.tcpUpstreams).toEqual({ redis: 6380, postgres: 5433 });
    expect((await proxyConfigFromOptions(parseFlags(['--service', 'api']))).tcpUpstreams).toEqual({});
  });

  it('refuses what is not NAME:LOCALPORT, saying what was expected', () => {
    const cases: [string, string][] = [
      ['redis', 'expected NAME:LOCALPORT (e.g. redis:6380), got "redis"'],
      ['redis:', 'expected NAME:LOCALPORT (e.g. redis:6380), got "redis:"'],
      ['redis:63x0', 'expected NAME:LOCALPORT (e.g. redis:6380), got "redis:63x0"'],
      ['127.0.0.1:6380', 'expected a service name (lowercase letters, digits and "-"), got "127.0.0.1"'],
      ['Redis:6380', 'expected a service name (lowercase letters, digits and "-"), got "Redis"'],
      ['redis:0', 'expected a local port from 1 to 65535, got 0 in "redis:0"'],
      ['redis:65536', 'expected a local port from 1 to 65535, got 65536 in "redis:65536"'],
    ];
    for (const [value, expected] of cases) expect(() => parseFlags(['--service', 'api', '--upstream', value])).toThrow(upstreamError(value, expected));
  });

  it('refuses a name or a port given twice', () => {
    expect(() => parseFlags(['--service', 'api', '--upstream', 'redis:6380', '--upstream', 'redis:6381'])).toThrow(
      upstreamError('redis:6381', 'expected one local port per upstream: redis is given twice (redis:6380 and redis:6381)'),
    );
    expect(() => parseFlags(['--service', 'api', '--upstream', 'redis:6380', '--upstream', 'cache:6380'])).toThrow(
      upstreamError('cache:6380', 'expected a local port of its own for each upstream: 6380 is already the port of the upstream redis (redis:6380)'),
    );
  });

  it('wins over the config file per name, which keeps the rest of its upstreams', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-upstream-'));
    try {
      const file = join(dir, 'proxy.yaml');
      await writeFile(file, 'service: api\nupstreams:\n  redis: { port: 6380, lb: least-connections }\n  postgres: { port: 5433 }\n');
      const config = await proxyConfigFromOptions(parseFlags(['--config', file, '--upstream', 'redis:7380']));
      expect(config.tcpUpstreams).toEqual({ redis: 7380, postgres: 5433 });
      expect(config.balancers).toEqual({ redis: 'least-connections' });
      // A flag that takes a port the file gave another upstream: the flag is named, with the file's key.
      await expect(proxyConfigFromOptions(parseFlags(['--config', file, '--upstream', 'cache:5433']))).rejects.toThrow(
        `--upstream cache:5433: expected a local port of its own for each upstream: 5433 is already the port of the upstream postgres (${file} at upstreams.postgres.port)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is a usage error (exit 2) when a port is one of the sidecar's own", async () => {
    const command = addProxyOptions(new Command('proxy')).exitOverride().configureOutput({ writeErr: () => undefined });
    command.parse(['--service', 'api', '--admin', '127.0.0.1:16000', '--upstream', 'redis:16000'], { from: 'user' });
    const failure = await proxyConfigFromOptions(command.opts<ProxyCommandOptions>(), command).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CommanderError);
    expect((failure as CommanderError).exitCode).toBe(2);
    expect((failure as CommanderError).message).toBe(
      "error: --upstream redis:16000: expected a local port for redis that neither the sidecar nor its app listens on: 16000 is the sidecar's admin listener 127.0.0.1:16000 (from --admin)",
    );
  });
});

describe('--health-grpc', () => {
  it("checks the app's gRPC health service: the whole server alone, or the service named", async () => {
    expect((await proxyConfigFromOptions(parseFlags(['--service', 'web', '--health-grpc']))).healthCheck.grpcService).toBe('');
    expect((await proxyConfigFromOptions(parseFlags(['--service', 'web', '--health-grpc', 'hello.Greeter']))).healthCheck.grpcService).toBe('hello.Greeter');
    expect((await proxyConfigFromOptions(parseFlags(['--service', 'web']))).healthCheck.grpcService).toBeUndefined();
  });
});
