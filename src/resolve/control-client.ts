// Resolve: typed REST client of the control plane's API, turning every failure into a WeftError.
import http from 'node:http';
import https from 'node:https';
import { NotFoundError, ValidationError, WeftError, type WeftErrorCode } from '../core/index.js';
import {
  apiPaths,
  type ErrorReply,
  type Health,
  type InstanceRegistrationInput,
  type InstanceReply,
  type InstancesReply,
  type ServicesReply,
} from '../model/index.js';

export const CONTROL_CLIENT_DEFAULT_TIMEOUT_MS = 5_000;
// Replies are small JSON documents; a runaway body means something other than the control plane answered.
const MAX_REPLY_BYTES = 32 * 1024 * 1024;

/** The control plane could not be reached or did not answer in time; callers may retry. */
export class ControlUnavailableError extends WeftError {
  constructor(url: string, why: string, cause?: unknown) {
    super('CONTROL_UNAVAILABLE', `control plane at ${url} is unavailable: ${why}`, { retryable: true, cause, details: { url } });
  }
}

export interface ControlClientOptions {
  /** Base URL of the control plane, e.g. http://127.0.0.1:8500. */
  url: string;
  /** Default per-call timeout. */
  timeoutMs?: number;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type RegistrationRequest = InstanceRegistrationInput & { readonly id: string };

// Codes a server may send that map onto ours; anything else is reported as INTERNAL with the server's code in details.
const KNOWN_CODES: ReadonlySet<string> = new Set<WeftErrorCode>([
  'NO_ENDPOINTS', 'CONNECT_FAILED', 'UPSTREAM_RESET', 'UPSTREAM_TIMEOUT', 'UPSTREAM_PROTOCOL_ERROR', 'APP_UNAVAILABLE',
  'MISSING_HOST', 'DRAINING', 'VALIDATION_FAILED', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'CONFLICT', 'PAYLOAD_TOO_LARGE', 'CONFIG_INVALID',
  'STORE_CORRUPT', 'STORE_CLOSED', 'CONTROL_UNAVAILABLE', 'INTERNAL',
]);

export class ControlClient {
  readonly url: string;
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(options: ControlClientOptions | string) {
    const opts = typeof options === 'string' ? { url: options } : options;
    let base: URL;
    try {
      base = new URL(opts.url);
    } catch {
      throw new ValidationError('control', `expected an http(s) URL, got "${opts.url}"`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new ValidationError('control', `expected an http(s) URL, got "${opts.url}"`);
    }
    this.base = base;
    this.url = base.origin;
    this.timeoutMs = opts.timeoutMs ?? CONTROL_CLIENT_DEFAULT_TIMEOUT_MS;
    this.transport = base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 8 });
  }

  register(registration: RegistrationRequest, options?: CallOptions): Promise<InstanceReply> {
    if (typeof registration.id !== 'string' || registration.id === '') {
      return Promise.reject(new ValidationError('id', 'an instance id is required to register'));
    }
    return this.call<InstanceReply>('PUT', apiPaths.instance(registration.id), registration, `instance "${registration.id}"`, options);
  }

  deregister(id: string, options?: CallOptions): Promise<InstanceReply> {
    return this.call<InstanceReply>('DELETE', apiPaths.instance(id), undefined, `instance "${id}"`, options);
  }

  heartbeat(id: string, status: Health = 'passing', reason?: string, options?: CallOptions): Promise<InstanceReply> {
    const body = reason === undefined ? { status } : { status, reason };
    return this.call<InstanceReply>('PUT', apiPaths.heartbeat(id), body, `instance "${id}"`, options);
  }

  services(options?: CallOptions): Promise<ServicesReply> {
    return this.call<ServicesReply>('GET', apiPaths.services(), undefined, 'services', options);
  }

  instances(name: string, options?: CallOptions): Promise<InstancesReply> {
    return this.call<InstancesReply>('GET', apiPaths.serviceInstances(name), undefined, `service "${name}"`, options);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private call<T>(method: string, path: string, body: unknown, what: string, options: CallOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const target = new URL(path, this.base);
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }

    return new Promise<T>((resolve, reject) => {
      const fail = (cause: unknown): void => {
        if (options.signal?.aborted) reject(options.signal.reason);
        else if (timeout.aborted) reject(new ControlUnavailableError(this.url, `no answer within ${timeoutMs} ms`, cause));
        else reject(new ControlUnavailableError(this.url, describe(cause), cause));
      };
      const req = this.transport.request(target, { method, headers, agent: this.agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            res.destroy(new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            const text = Buffer.concat(chunks).toString('utf8');
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch (cause) {
            reject(new WeftError('INTERNAL', `control plane at ${this.url} sent a reply that is not JSON (${method} ${path}, status ${status})`, {
              cause,
              details: { status },
            }));
            return;
          }
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(errorFromReply(status, parsed, what, this.url));
        });
      });
      req.on('error', fail);
      req.end(payload);
    });
  }
}

function errorFromReply(status: number, body: unknown, what: string, url: string): WeftError {
  const reply = isErrorReply(body) ? body : undefined;
  if (status === 404) return new NotFoundError(what);
  if (status === 400 || reply?.code === 'VALIDATION_FAILED') {
    const field = reply?.field ?? '';
    // The server's message already names the field; ValidationError adds it again, so strip it once.
    const message = reply?.message ?? 'invalid request';
    const bare = field && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
    return new ValidationError(field, bare);
  }
  const code: WeftErrorCode = reply && KNOWN_CODES.has(reply.code) ? (reply.code as WeftErrorCode) : 'INTERNAL';
  const message = reply?.message ?? `control plane at ${url} answered ${status}`;
  return new WeftError(code, message, {
    retryable: status >= 500 || code === 'CONTROL_UNAVAILABLE',
    details: { status, ...(reply && reply.code !== code ? { serverCode: reply.code } : {}) },
  });
}

function isErrorReply(value: unknown): value is ErrorReply {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string'
    && typeof (value as { message?: unknown }).message === 'string';
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
