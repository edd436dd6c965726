// Control auth: the text of an API token — `wt1.<id>.<secret>` — and how its secret is hashed and compared.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_VERSION = 'wt1';
const ID_PATTERN = /^[0-9a-f]{16}$/;
/** 32 bytes in unpadded base64url. */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface TokenParts {
  readonly id: string;
  readonly secret: string;
}

export function newTokenParts(): TokenParts {
  return { id: randomBytes(8).toString('hex'), secret: randomBytes(32).toString('base64url') };
}

export function formatToken(parts: TokenParts): string {
  return `${TOKEN_VERSION}.${parts.id}.${parts.secret}`;
}

/** undefined unless the text has the token shape; says nothing about whether such a token exists. */
export function parseToken(text: string): TokenParts | undefined {
  const fields = text.trim().split('.');
  if (fields.length !== 3 || fields[0] !== TOKEN_VERSION) return undefined;
  const [, id = '', secret = ''] = fields;
  return ID_PATTERN.test(id) && SECRET_PATTERN.test(secret) ? { id, secret } : undefined;
}

export function isTokenId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** SHA-256 of the secret, hex: the only form of it the store keeps. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares digests of equal length in constant time, so timing tells nothing about how much of a guess was right. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === given.length && timingSafeEqual(given, stored);
}
