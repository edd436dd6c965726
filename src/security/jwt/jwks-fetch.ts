// Security/JWT: one bounded JWKS download — a time limit, a size limit, no redirects, and only public signing keys kept.
import type { LookupFunction } from 'node:net';
import type { JSONWebKeySet, JWK } from 'jose';
import { Agent, fetch, type Response } from 'undici';
import { JWKS_LOOPBACK_NAME, jwksUrlProblem } from '../../model/index.js';
import { cacheControlMaxAge } from './cache-control.js';

export interface JwksFetchLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Keys beyond this many are a misconfiguration or an attack, not a key set. */
  readonly maxKeys: number;
}

export interface FetchedJwks {
  readonly jwks: JSONWebKeySet;
  /** The reply's Cache-Control max-age in seconds, if it named one. */
  readonly maxAgeSeconds: number | undefined;
}

/** Why a JWKS download failed; the message is safe to log (it holds the URL and the cause, no key material). */
export class JwksFetchError extends Error {
  constructor(url: string, why: string) {
    super(`JWKS ${url}: ${why}`);
    this.name = 'JwksFetchError';
  }
}

const PUBLIC_SIGNING_KTY = new Set(['RSA', 'EC', 'OKP']);

/** `localhost` as loopback, whatever a resolver says: both loopback addresses, tried as connect() tries any pair. */
const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
  else callback(null, '127.0.0.1', 4);
};
let loopbackAgent: Agent | undefined;

export async function fetchJwks(url: string, limits: JwksFetchLimits): Promise<FetchedJwks> {
  // Checked again here, not only when the policy is written: whatever built the URL, nothing else is fetched.
  const problem = jwksUrlProblem(url);
  if (problem !== undefined) throw new JwksFetchError(url, problem);
  const dispatcher = new URL(url).hostname === JWKS_LOOPBACK_NAME ? (loopbackAgent ??= new Agent({ connect: { lookup: loopbackLookup } })) : undefined;
  let response: Response;
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    // A redirect could lead the fetch anywhere; an issuer publishes its keys at the URL it names.
    response = await fetch(url, { redirect: 'error', signal, headers: { accept: 'application/json, application/jwk-set+json' }, ...(dispatcher ? { dispatcher } : {}) });
  } catch (error) {
    throw new JwksFetchError(url, signal.aborted ? `no reply within ${limits.timeoutMs} ms` : `request failed (${causeOf(error)})`);
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new JwksFetchError(url, `expected status 200, got ${response.status}`);
  }
  const text = await readBounded(url, response, limits, signal);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new JwksFetchError(url, 'the reply is not JSON');
  }
  return { jwks: publicSigningKeys(url, parsed, limits.maxKeys), maxAgeSeconds: cacheControlMaxAge(response.headers.get('cache-control')) };
}

async function readBounded(url: string, response: Response, limits: JwksFetchLimits, signal: AbortSignal): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limits.maxBytes) {
    await response.body?.cancel();
    throw new JwksFetchError(url, `the reply is larger than ${limits.maxBytes} bytes`);
  }
  const body = response.body;
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limits.maxBytes) {
        await reader.cancel();
        throw new JwksFetchError(url, `the reply is larger than ${limits.maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof JwksFetchError) throw error;
    throw new JwksFetchError(url, signal.aborted ? `no complete reply within ${limits.timeoutMs} ms` : `reading the reply failed (${causeOf(error)})`);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** The set's public RSA, EC and OKP keys; symmetric and private keys are dropped so they can never verify anything. */
function publicSigningKeys(url: string, parsed: unknown, maxKeys: number): JSONWebKeySet {
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new JwksFetchError(url, 'expected a JSON object with a "keys" list');
  }
  const all = (parsed as { keys: unknown[] }).keys;
  if (all.length > maxKeys) throw new JwksFetchError(url, `expected at most ${maxKeys} keys, got ${all.length}`);
  const keys: JWK[] = [];
  for (const key of all) {
    if (typeof key !== 'object' || key === null) continue;
    const jwk = key as JWK;
    if (typeof jwk.kty !== 'string' || !PUBLIC_SIGNING_KTY.has(jwk.kty) || 'd' in jwk) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    keys.push(jwk);
  }
  return { keys };
}

function causeOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return String(cause);
}
