// Resilience: single probes of an upstream endpoint — TCP connect and HTTP GET, each on a fresh connection with a timeout.
import http from 'node:http';
import net from 'node:net';
import type { ProbeResult } from './app-health-check.js';

/** Healthy when a TCP connection opens within the timeout. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const target = `tcp://${hostPort(host, port)}`;
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
  const target = `http://${hostPort(host, port)}${path}`;
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

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
