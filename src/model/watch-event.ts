// Model: the wire format of GET /api/v1/watch, an NDJSON stream of versioned registry changes.
import { z } from 'zod';
import { instanceSchema, type Instance } from './instance.js';

/**
 * - `reset`: the full state at `version`; sent first unless the stream resumes exactly from `?since=`.
 * - `upsert` / `remove`: one change, at `version` (strictly increasing).
 * - `ping`: keep-alive carrying the current version, every few seconds.
 */
export type WatchEvent =
  | { readonly type: 'reset'; readonly version: number; readonly instances: readonly Instance[] }
  | { readonly type: 'upsert'; readonly version: number; readonly instance: Instance }
  | { readonly type: 'remove'; readonly version: number; readonly id: string; readonly service: string }
  | { readonly type: 'ping'; readonly version: number };

export const watchEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reset'), version: z.number().int().nonnegative(), instances: z.array(instanceSchema) }),
  z.object({ type: z.literal('upsert'), version: z.number().int().nonnegative(), instance: instanceSchema }),
  z.object({ type: z.literal('remove'), version: z.number().int().nonnegative(), id: z.string(), service: z.string() }),
  z.object({ type: z.literal('ping'), version: z.number().int().nonnegative() }),
]);

export const WATCH_CONTENT_TYPE = 'application/x-ndjson';
export const WATCH_PING_INTERVAL_MS = 5_000;
