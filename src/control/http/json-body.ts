// Control HTTP: reads a JSON request body with a size limit, so a client can neither exhaust memory nor store half a document.
import type { IncomingMessage } from 'node:http';
import { ValidationError, WeftError } from '../../core/index.js';

export const BODY_LIMIT_BYTES = 64 * 1024;
/** Beyond the limit the body is still read and discarded up to here, so the client sees the 413 instead of a reset. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

export class PayloadTooLargeError extends WeftError {
  constructor(limit: number) {
    super('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`, { details: { limit } });
  }
}

/** The parsed body, or undefined when there is none. Malformed JSON is a ValidationError. */
export async function readJsonBody(req: IncomingMessage, limit = BODY_LIMIT_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > DRAIN_LIMIT_BYTES) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > DRAIN_LIMIT_BYTES) throw new PayloadTooLargeError(limit);
    if (total <= limit) chunks.push(chunk);
  }
  if (total > limit) throw new PayloadTooLargeError(limit);
  if (total === 0) return undefined;
  const text = Buffer.concat(chunks, total).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError('', `malformed JSON body: ${error instanceof Error ? error.message : String(error)}`);
  }
}
