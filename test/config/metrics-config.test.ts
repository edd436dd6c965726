// Tests: the sidecar's `metrics:` settings (Istio-compatible metrics and their namespace) from the YAML file and flags.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveProxyConfig, validateProxyFile } from '../../src/config/index.js';

describe('metrics settings in the sidecar config', () => {
  it('leaves Istio metrics off, in namespace "default", unless told', () => {
    expect(resolveProxyConfig({}, { service: 'web' }, {}).metrics).toEqual({ istio: false, namespace: 'default' });
  });

  it('reads metrics.istio and metrics.namespace from the file; flags win', () => {
    const file = validateProxyFile('s.yaml', parse('metrics:\n  istio: true\n  namespace: prod\n'));
    expect(resolveProxyConfig(file, { service: 'web' }, {}).metrics).toEqual({ istio: true, namespace: 'prod' });
    expect(resolveProxyConfig(file, { service: 'web', istioNamespace: 'staging' }, {}).metrics).toEqual({ istio: true, namespace: 'staging' });
    expect(resolveProxyConfig({}, { service: 'web', istioMetrics: true }, {}).metrics).toEqual({ istio: true, namespace: 'default' });
  });

  it('names the file, the path and the expectation for a bad value or an unknown key', () => {
    expect(() => validateProxyFile('s.yaml', parse('metrics:\n  istio: "yes"\n'))).toThrow('s.yaml at metrics.istio: expected true or false');
    expect(() => validateProxyFile('s.yaml', parse('metrics:\n  namespace: Prod_1\n'))).toThrow(/s\.yaml at metrics\.namespace: expected a namespace name/);
    expect(() => validateProxyFile('s.yaml', parse('metrics:\n  kiali: true\n'))).toThrow(/s\.yaml at metrics\.kiali: unknown key/);
  });
});
