// Consul API: one run of an HTTP or TCP check, as a Consul agent runs it — 2xx passing, 429 warning, anything else critical.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { CheckDefinition, ConsulStatus } from './service-definition.js';

export interface ProbeResult {
  readonly status: ConsulStatus;
  readonly output: string;
}

const MAX_OUTPUT = 4 * 1024;

export function probe(check: CheckDefinition): Promise<ProbeResult> {
  return check.kind === 'http' ? probeHttp(check) : probeTcp(check);
}

function probeHttp(check: CheckDefinition): Promise<ProbeResult> {
  const url = new URL(check.target ?? '');
  const method = check.method ?? 'GET';
  const headers: Record<string, string | string[]> = { 'user-agent': 'Consul Health Check', accept: 'text/plain, text/*, */*' };
  for (const [name, values] of Object.entries(check.headers ?? {})) headers[name] = [...values];
  const label = `HTTP ${method} ${url.href}`;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method, headers, agent: false, ...(url.protocol === 'https:' ? { rejectUnauthorized: check.tlsSkipVerify !== true } : {}) }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < MAX_OUTPUT) body += chunk.slice(0, MAX_OUTPUT - body.length);
      });
      const done = (): void => {
        const code = res.statusCode ?? 0;
        const status: ConsulStatus = code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical';
        finish({ status, output: `${label}: ${code} ${res.statusMessage ?? ''} Output: ${body}` });
      };
      res.on('end', done);
      res.on('error', done);
    });
    const timer = setTimeout(() => finish({ status: 'critical', output: `${label}: timed out after ${check.timeoutMs ?? 0} ms` }), check.timeoutMs);
    timer.unref();
    req.on('error', (error) => finish({ status: 'critical', output: `${label}: ${error.message}` }));
    req.end();
  });
}

function probeTcp(check: CheckDefinition): Promise<ProbeResult> {
  const target = check.target ?? '';
  const split = target.lastIndexOf(':');
  const host = target.slice(0, split).replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.slice(split + 1));
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = connect({ host, port }, () => finish({ status: 'passing', output: `TCP connect ${target}: Success` }));
    const timer = setTimeout(() => finish({ status: 'critical', output: `TCP connect ${target}: timed out after ${check.timeoutMs ?? 0} ms` }), check.timeoutMs);
    timer.unref();
    socket.on('error', (error) => finish({ status: 'critical', output: `dial tcp ${target}: ${error.message}` }));
  });
}
