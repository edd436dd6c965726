// Consul API: one run of an HTTP or TCP check, as a Consul agent runs it — 2xx passing, 429 warning, anything else critical — on the instance's own host only.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type LookupFunction } from 'node:net';
import { formatHostPort, type HostPolicy } from '../../model/index.js';
import { checkTarget, type CheckTarget } from './check-target.js';
import { policyLookup } from '../instance-address.js';
import { checkTiming, type CheckDefinition, type ConsulStatus } from './service-definition.js';

export interface ProbeResult {
  readonly status: ConsulStatus;
  readonly output: string;
}

/** The checked instance's host and the addresses this control plane may reach. */
export interface ProbeScope {
  readonly host: string;
  readonly policy: HostPolicy;
}

const STATUS_TEXT_LIMIT = 128;

/**
 * Runs the check once; never throws, never rejects. A definition that cannot run (a record of an older version
 * naming another host, a header Node refuses) is critical with the reason as its output, without connecting.
 */
export async function probe(check: CheckDefinition, scope: ProbeScope): Promise<ProbeResult> {
  try {
    const checked = checkTarget(check, scope.host, scope.policy);
    if (!checked.ok) return { status: 'critical', output: `check not run: ${checked.field}: ${checked.reason}` };
    const { timeoutMs } = checkTiming(check);
    const lookup = policyLookup(scope.policy);
    return checked.target.kind === 'http' ? await probeHttp(checked.target, check.tlsSkipVerify === true, timeoutMs, lookup) : await probeTcp(checked.target, timeoutMs, lookup);
  } catch (error) {
    return { status: 'critical', output: `check failed to run: ${error instanceof Error ? error.message : String(error)}` };
  }
}

type HttpTarget = Extract<CheckTarget, { kind: 'http' }>;
type TcpTarget = Extract<CheckTarget, { kind: 'tcp' }>;

function probeHttp(target: HttpTarget, tlsSkipVerify: boolean, timeoutMs: number, lookup: LookupFunction): Promise<ProbeResult> {
  const { url, method } = target;
  // Neither the URL's credentials nor its query, either of which may carry a secret: the label reaches check outputs and the instance's health reason.
  const label = `HTTP ${method} ${url.protocol}//${url.host}${url.pathname}`;
  const headers: Record<string, string | string[]> = { 'user-agent': 'Consul Health Check', accept: 'text/plain, text/*, */*' };
  for (const [name, values] of Object.entries(target.headers)) headers[name] = [...values];
  const https = url.protocol === 'https:';
  // Made before the promise, so that anything Node refuses to send throws into probe()'s catch.
  const req = (https ? httpsRequest : httpRequest)(url, { method, headers, agent: false, lookup, ...(https ? { rejectUnauthorized: !tlsSkipVerify } : {}) });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'critical', output: `${label}: timed out after ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    // The status line only: the body is whatever the target serves, and redirects are not followed.
    req.once('response', (res: IncomingMessage) => {
      res.on('error', () => undefined);
      res.resume();
      const code = res.statusCode ?? 0;
      const status: ConsulStatus = code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical';
      finish({ status, output: `${label}: ${code} ${(res.statusMessage ?? '').slice(0, STATUS_TEXT_LIMIT)}`.trimEnd() });
    });
    req.on('error', (error) => finish({ status: 'critical', output: `${label}: ${error.message}` }));
    req.end();
  });
}

function probeTcp(target: TcpTarget, timeoutMs: number, lookup: LookupFunction): Promise<ProbeResult> {
  const label = formatHostPort(target.host, target.port);
  const socket = connect({ host: target.host, port: target.port, lookup });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'critical', output: `TCP connect ${label}: timed out after ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    socket.once('connect', () => finish({ status: 'passing', output: `TCP connect ${label}: Success` }));
    socket.on('error', (error) => finish({ status: 'critical', output: `dial tcp ${label}: ${error.message}` }));
  });
}
