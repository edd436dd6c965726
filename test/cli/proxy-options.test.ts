// CLI: the sidecar flags for Istio-compatible metrics, parsed by commander into the sidecar's config.
import { Command } from 'commander';
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
