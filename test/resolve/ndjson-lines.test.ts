// Tests: NDJSON line splitting across arbitrary chunk boundaries.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/index.js';
import { NdjsonLineDecoder } from '../../src/resolve/index.js';

describe('NdjsonLineDecoder', () => {
  it('yields the same lines whatever the chunk size', () => {
    const text = '{"a":1}\n{"b":"grüß — 你好"}\r\n\n{"c":3}\n';
    const bytes = Buffer.from(text);
    for (let size = 1; size <= bytes.length; size++) {
      const decoder = new NdjsonLineDecoder();
      const lines: string[] = [];
      for (let i = 0; i < bytes.length; i += size) lines.push(...decoder.push(bytes.subarray(i, i + size)));
      expect(lines).toEqual(['{"a":1}', '{"b":"grüß — 你好"}', '{"c":3}']);
    }
  });

  it('holds back an unfinished line until its newline arrives', () => {
    const decoder = new NdjsonLineDecoder();
    expect(decoder.push(Buffer.from('{"a":'))).toEqual([]);
    expect(decoder.push(Buffer.from('1}\n{"b"'))).toEqual(['{"a":1}']);
    decoder.reset();
    expect(decoder.push(Buffer.from('{"c":3}\n'))).toEqual(['{"c":3}']);
  });

  it('refuses a line longer than its limit', () => {
    const decoder = new NdjsonLineDecoder(8);
    expect(decoder.push(Buffer.from('1234'))).toEqual([]);
    expect(() => decoder.push(Buffer.from('56789'))).toThrow(ValidationError);
  });
});
