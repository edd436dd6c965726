// Telemetry: the x-weft-source header helpers and the capped table of per-caller children.
import { describe, it, expect } from 'vitest';
import { announceSource, claimedSource, OTHER_SOURCES, SourceTable, UNKNOWN_SERVICE, validSource } from '../../src/telemetry/index.js';

describe('x-weft-source', () => {
  it('is replaced wherever and however often the app sent it, keeping the other headers in order', () => {
    const headers = ['host', 'greeter', 'X-Weft-Source', 'admin', 'accept', '*/*', 'x-weft-source', 'root'];
    announceSource(headers, 'web');
    expect(headers).toEqual(['host', 'greeter', 'accept', '*/*', 'x-weft-source', 'web']);
  });

  it('is removed when the sidecar has no service', () => {
    const headers = ['x-weft-source', 'admin', 'host', 'greeter'];
    announceSource(headers, '');
    expect(headers).toEqual(['host', 'greeter']);
    expect(claimedSource(headers)).toBeUndefined();
  });

  it('is read as sent, first value first, and counts as a name for logs only when it is a service name', () => {
    expect(claimedSource(['Host', 'g', 'X-WEFT-SOURCE', 'web', 'x-weft-source', 'other'])).toBe('web');
    expect(validSource('web')).toBe('web');
    expect(validSource('Web')).toBe('');
    expect(validSource(UNKNOWN_SERVICE)).toBe('');
    expect(validSource(undefined)).toBe('');
  });
});

describe('SourceTable', () => {
  it('binds each service once, malformed names as _unknown, and names past the cap as _other', () => {
    const bound: string[] = [];
    const table = new SourceTable((source) => (bound.push(source), { source }), 2);
    expect(table.of('web')).toBe(table.of('web'));
    expect(table.of('batch').source).toBe('batch');
    expect(table.of('third').source).toBe(OTHER_SOURCES);
    expect(table.of('fourth')).toBe(table.of('third'));
    expect(table.of(undefined).source).toBe(UNKNOWN_SERVICE);
    expect(table.of('_other').source).toBe(UNKNOWN_SERVICE);
    expect(table.of('x'.repeat(64))).toBe(table.of(undefined));
    // A known name keeps its own children once the cap is reached.
    expect(table.of('web').source).toBe('web');
    expect(bound).toEqual(['web', 'batch', OTHER_SOURCES, UNKNOWN_SERVICE]);
  });
});
