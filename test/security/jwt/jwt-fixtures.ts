// Test support for JWT: real key pairs, tokens signed by jose, and a real JWKS server on 127.0.0.1 that counts its fetches and can be stopped.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** A JWK as the JwtPolicy schema takes it. */
export type PublicSigningJwk = JWK & { kty: 'RSA' | 'EC' | 'OKP' };

export const ISSUER = 'https://issuer.example';
export const AUDIENCE = 'api';

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256' | 'EdDSA';
  readonly privateKey: CryptoKey;
  readonly publicJwk: PublicSigningJwk;
  /** The public key as PEM text: what an HMAC confusion attack uses as its "secret". */
  readonly publicPem: string;
}

export async function signingKey(kid: string, alg: SigningKey['alg'] = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const exported = await exportJWK(publicKey);
  const publicJwk = { ...exported, kty: exported.kty as PublicSigningJwk['kty'], kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A token from `key` with iss, aud, sub and a 10-minute exp unless the claims say otherwise. */
export function signToken(key: SigningKey, claims: JWTPayload = {}, header: { kid?: string | undefined } = {}): Promise<string> {
  const now = nowSeconds();
  const body: JWTPayload = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat: now, exp: now + 600, ...claims };
  const kid = 'kid' in header ? header.kid : key.kid;
  return new SignJWT(body).setProtectedHeader(kid === undefined ? { alg: key.alg } : { alg: key.alg, kid }).sign(key.privateKey);
}

/** A JWKS endpoint: serves whatever key set it is given, counts requests, and can go down and come back on the same port. */
export class JwksServer {
  private server: Server | undefined;
  private port = 0;
  requests = 0;
  keys: JWK[];
  cacheControl: string | undefined;
  /** Raw body instead of the key set, to test size and shape limits. */
  body: string | undefined;
  delayMs = 0;

  constructor(keys: JWK[]) {
    this.keys = keys;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.requests += 1;
      const reply = (): void => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (this.cacheControl !== undefined) headers['cache-control'] = this.cacheControl;
        res.writeHead(200, headers).end(this.body ?? JSON.stringify({ keys: this.keys }));
      };
      if (this.delayMs > 0) setTimeout(reply, this.delayMs).unref();
      else reply();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.port }, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Polls `condition` every 20 ms, at most `timeoutMs`; fails the test if it never holds. */
export async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
