// Resilience: single probes of an upstream endpoint — TCP connect and HTTP GET, each on a fresh connection with a timeout.
import http from 'node:http';
import net from 'node:net';
import { formatHostPort, isValidHost, isValidPort, printable } from '../model/index.js';
import type { ProbeResult } from './app-health-check.js';

/**
 * Runs a probe of host:port that can only fail as a result: an address the registry should never have accepted (an
 * older control plane's, say) is unhealthy without a dial, and a probe that throws or rejects is unhealthy with its reason.
 */
export function guardedProbe(host: string, port: number, probe: () => Promise<ProbeResult>): Promise<ProbeResult> {
  if (!isValidHost(host) || !isValidPort(port)) return Promise.resolve({ ok: false, reason: `"${printable(formatHostPort(host, port))}" is not a dialable address` });
  try {
    return probe().catch((error: unknown) => ({ ok: false, reason: `probe of ${formatHostPort(host, port)} failed: ${(error as Error).message}` }));
  } catch (error) {
    return Promise.resolve({ ok: false, reason: `probe of ${formatHostPort(host, port)} failed: ${(error as Error).message}` });
  }
}

/** Healthy when a TCP connection opens within the timeout. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const target = `tcp://${formatHostPort(host, port)}`;
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let settled = false;
    const done = (ok: boolean, reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, reason: `TCP connect to ${target} ${reason}` });
    };
    const timer = setTimeout(() => done(false, `did not complete within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(true, 'succeeded'));
    socket.once('error', (err) => done(false, `failed: ${err.message}`));
  });
}

/** Healthy when GET path answers 2xx or 3xx within the timeout. */
export function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const target = `http://${formatHostPort(host, port)}${path}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ok, reason: `GET ${target} ${reason}` });
    };
    // A fresh connection per probe: a pooled socket could outlive the process it was opened to.
    const req = http.request({ host, port, path, method: 'GET', agent: false, headers: { 'user-agent': 'weft-health-check' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done(status >= 200 && status < 400, `answered ${status}`);
    });
    const timer = setTimeout(() => done(false, `did not answer within ${timeoutMs} ms`), timeoutMs);
    req.once('error', (err) => done(false, `failed: ${err.message}`));
    req.end();
  });
}
