// Control auth: API tokens kept under `tokens/<id>` of the registry backend (hash of the secret only), so every control plane on one store knows them.
import { NotFoundError, ValidationError, type Clock } from '../../core/index.js';
import { SERVICE_NAME, type TokenCreatedReply, type TokenInfo, type TokenKind } from '../../model/index.js';
import type { RegistryBackend } from '../../registry/index.js';
import { formatToken, hashSecret, isTokenId, newTokenParts, parseToken, secretMatches } from './token-format.js';

export const TOKEN_PREFIX = 'tokens/';
export const JOIN_TOKEN_DEFAULT_TTL_MS = 24 * 3_600_000;
/** Longest lifetime a token may be given: ten years. */
export const TOKEN_MAX_TTL_MS = 10 * 365 * 24 * 3_600_000;
const MAX_DESCRIPTION = 200;

/** What is stored for a token: never the secret, only its SHA-256. */
interface StoredToken {
  readonly id: string;
  readonly kind: TokenKind;
  readonly service?: string;
  readonly description?: string;
  readonly createdAtMs: number;
  readonly expiresAtMs?: number;
  readonly secretSha256: string;
}

export interface TokenSpec {
  readonly kind: TokenKind;
  readonly service?: string;
  readonly ttlMs?: number;
  readonly description?: string;
}

/** Why a presented token is refused; fixed words, safe for logs and metric labels. */
export type TokenRefusal = 'malformed' | 'unknown' | 'expired';

export type TokenCheck = { readonly ok: true; readonly info: TokenInfo } | { readonly ok: false; readonly reason: TokenRefusal };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class TokenStore {
  constructor(
    private readonly backend: RegistryBackend,
    private readonly clock: Clock,
  ) {}

  /** Validates the request (it may come straight from an API body) and stores a new token; the reply holds its only copy of the secret. */
  async create(input: unknown): Promise<TokenCreatedReply> {
    const spec = parseTokenSpec(input);
    const parts = newTokenParts();
    const now = this.clock.wallNow();
    const ttlMs = spec.ttlMs ?? (spec.kind === 'join' ? JOIN_TOKEN_DEFAULT_TTL_MS : undefined);
    const stored: StoredToken = {
      id: parts.id,
      kind: spec.kind,
      ...(spec.service === undefined ? {} : { service: spec.service }),
      ...(spec.description === undefined ? {} : { description: spec.description }),
      createdAtMs: now,
      ...(ttlMs === undefined ? {} : { expiresAtMs: now + ttlMs }),
      secretSha256: hashSecret(parts.secret),
    };
    // ifVersion 0: a (vanishingly unlikely) repeated id fails instead of replacing another token.
    await this.backend.put(tokenKey(parts.id), encoder.encode(JSON.stringify(stored)), { ifVersion: 0 });
    return { token: formatToken(parts), info: infoOf(stored) };
  }

  /** The token named by this text, if it exists, is unexpired and its secret matches. An expired one is deleted on the way. */
  async check(text: string): Promise<TokenCheck> {
    const parts = parseToken(text);
    if (!parts) return { ok: false, reason: 'malformed' };
    const stored = await this.read(parts.id);
    if (!stored || !secretMatches(parts.secret, stored.secretSha256)) return { ok: false, reason: 'unknown' };
    if (this.expired(stored)) {
      await this.prune(stored.id);
      return { ok: false, reason: 'expired' };
    }
    return { ok: true, info: infoOf(stored) };
  }

  /** Every live token, oldest first; expired ones are pruned. */
  async list(): Promise<TokenInfo[]> {
    const live: StoredToken[] = [];
    for (const stored of await this.all()) {
      if (this.expired(stored)) await this.prune(stored.id);
      else live.push(stored);
    }
    return live.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1)).map(infoOf);
  }

  async hasAdmin(): Promise<boolean> {
    return (await this.all()).some((stored) => stored.kind === 'admin' && !this.expired(stored));
  }

  /** Revoking deletes: a revoked token is refused like one that never existed. */
  async revoke(id: string): Promise<void> {
    if (!isTokenId(id) || !(await this.read(id))) throw new NotFoundError(`token "${id}"`);
    await this.backend.delete(tokenKey(id));
  }

  private expired(stored: StoredToken): boolean {
    return stored.expiresAtMs !== undefined && stored.expiresAtMs <= this.clock.wallNow();
  }

  private async prune(id: string): Promise<void> {
    await this.backend.delete(tokenKey(id));
  }

  private async read(id: string): Promise<StoredToken | undefined> {
    const item = await this.backend.get(tokenKey(id));
    return item ? decodeToken(item.value) : undefined;
  }

  private async all(): Promise<StoredToken[]> {
    const { items } = await this.backend.list(TOKEN_PREFIX);
    return items.map((item) => decodeToken(item.value)).filter((stored): stored is StoredToken => stored !== undefined);
  }
}

function tokenKey(id: string): string {
  return `${TOKEN_PREFIX}${id}`;
}

function infoOf(stored: StoredToken): TokenInfo {
  return {
    id: stored.id,
    kind: stored.kind,
    ...(stored.service === undefined ? {} : { service: stored.service }),
    ...(stored.description === undefined ? {} : { description: stored.description }),
    createdAt: new Date(stored.createdAtMs).toISOString(),
    ...(stored.expiresAtMs === undefined ? {} : { expiresAt: new Date(stored.expiresAtMs).toISOString() }),
  };
}

/** undefined for bytes that are not a token record (a newer or broken writer): such a record authenticates nobody. */
function decodeToken(value: Uint8Array): StoredToken | undefined {
  try {
    const raw = JSON.parse(decoder.decode(value)) as Partial<StoredToken>;
    if (typeof raw.id !== 'string' || (raw.kind !== 'admin' && raw.kind !== 'join') || typeof raw.secretSha256 !== 'string' || typeof raw.createdAtMs !== 'number') return undefined;
    if (raw.kind === 'join' && typeof raw.service !== 'string') return undefined;
    if (raw.expiresAtMs !== undefined && typeof raw.expiresAtMs !== 'number') return undefined;
    return raw as StoredToken;
  } catch {
    return undefined;
  }
}

export function parseTokenSpec(input: unknown): TokenSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError('', 'expected a JSON object {kind, service?, ttlMs?, description?}');
  const body = input as Record<string, unknown>;
  const { kind, service, ttlMs, description } = body;
  for (const field of Object.keys(body)) {
    if (!['kind', 'service', 'ttlMs', 'description'].includes(field)) throw new ValidationError(field, 'unknown field; expected kind, service, ttlMs or description');
  }
  if (kind !== 'admin' && kind !== 'join') throw new ValidationError('kind', 'expected "admin" or "join"');
  if (kind === 'join') {
    if (typeof service !== 'string' || !SERVICE_NAME.test(service)) throw new ValidationError('service', 'a join token names one service: a DNS label of lowercase letters, digits and "-", 1-63 characters');
  } else if (service !== undefined) {
    throw new ValidationError('service', 'an admin token acts for every service; give no service');
  }
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < 1_000 || ttlMs > TOKEN_MAX_TTL_MS)) {
    throw new ValidationError('ttlMs', `expected whole milliseconds from 1000 (1 s) to ${TOKEN_MAX_TTL_MS} (10 years)`);
  }
  if (description !== undefined && (typeof description !== 'string' || description.length > MAX_DESCRIPTION || /[\p{Cc}]/u.test(description))) {
    throw new ValidationError('description', `expected text of at most ${MAX_DESCRIPTION} characters without control characters`);
  }
  return {
    kind,
    ...(kind === 'join' ? { service: service as string } : {}),
    ...(ttlMs === undefined ? {} : { ttlMs: ttlMs as number }),
    ...(description === undefined ? {} : { description: description as string }),
  };
}
