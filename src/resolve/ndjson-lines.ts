// Resolve: splits an NDJSON byte stream into whole lines, whatever the chunk boundaries.
import { ValidationError } from '../core/index.js';

export const NDJSON_MAX_LINE_BYTES = 64 * 1024 * 1024;

export class NdjsonLineDecoder {
  // Streaming mode keeps a multi-byte character that straddles two chunks intact.
  private readonly decoder = new TextDecoder('utf-8');
  // Parts of the unfinished line; joined once when its newline arrives, so a large reset costs O(n).
  private parts: string[] = [];
  private partsLength = 0;

  constructor(private readonly maxLineLength = NDJSON_MAX_LINE_BYTES) {}

  /** Returns the complete, non-empty lines this chunk finishes. */
  push(chunk: Uint8Array): string[] {
    const text = this.decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      let line = text.slice(start, newline);
      if (this.parts.length > 0) {
        this.parts.push(line);
        line = this.parts.join('');
        this.parts = [];
        this.partsLength = 0;
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.trim() !== '') lines.push(line);
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) {
      const rest = text.slice(start);
      this.partsLength += rest.length;
      if (this.partsLength > this.maxLineLength) {
        this.reset();
        throw new ValidationError('', `NDJSON line longer than ${this.maxLineLength} characters`);
      }
      this.parts.push(rest);
    }
    return lines;
  }

  /** Drops any unfinished line, e.g. when the connection it came from is gone. */
  reset(): void {
    this.parts = [];
    this.partsLength = 0;
    this.decoder.decode();
  }
}
