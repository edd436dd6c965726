// Model: turns a zod failure into a ValidationError naming the first offending field.
import type { z } from 'zod';
import { ValidationError } from '../core/index.js';
import { printable } from './net-values.js';

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    // A record's keys are the client's text (meta keys, header names): escaped, so a field never carries a line break into a log.
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${printable(String(part))}` : printable(String(part));
  }
  return out;
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ValidationError('', 'invalid value');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = fieldPath([...issue.path, key]);
    throw new ValidationError(field, 'unknown field');
  }
  return raise(fieldPath(issue.path), issue.message);
}

function raise(field: string, message: string): never {
  throw new ValidationError(field, message);
}
