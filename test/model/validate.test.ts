// Model: the field a ValidationError names, built from a zod path whose record keys are the client's own text.
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/index.js';
import { fieldPath, parseOrThrow } from '../../src/model/index.js';

describe('fieldPath and parseOrThrow', () => {
  it('names fields with dots and indices, plain keys as they are', () => {
    expect(fieldPath(['routes', 0, 'match', 'headers', 'x-user'])).toBe('routes[0].match.headers.x-user');
  });

  it('escapes a key holding a line break, NUL or quote, so that neither the field nor the message carries it raw', () => {
    const schema = z.object({ meta: z.record(z.string(), z.string().max(3, 'expected at most 3 characters')) });
    let error: unknown;
    try {
      parseOrThrow(schema, { meta: { 'a\r\nX-Injected: 1\0"': 'long value' } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const { field, message } = error as ValidationError;
    expect(field).toBe('meta.a\\r\\nX-Injected: 1\\u0000\\"');
    expect(message).toBe(`${field}: expected at most 3 characters`);
    expect(/[\r\n\0]/.test(message)).toBe(false);
  });
});
