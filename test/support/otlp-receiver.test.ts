// Test support: the OTLP/HTTP receiver decodes hex and base64 ids, gzip bodies, typed attributes, and refuses what it cannot read.
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

const TRACE_HEX = '5b8efff798038103d269b633813fc60c';
const SPAN_HEX = 'eee19b7ec3c1b174';

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function payload(traceId: string, spanId: string, parentSpanId: string): Buffer {
  return Buffer.from(JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web' } }] },
      scopeSpans: [{ spans: [{
        traceId, spanId, parentSpanId, name: 'GET greeter', kind: 3,
        attributes: [
          { key: 'http.response.status_code', value: { intValue: '200' } },
          { key: 'weft.attempts', value: { intValue: 2 } },
          { key: 'ok', value: { boolValue: true } },
          { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 1.5 }] } } },
        ],
        events: [{ name: 'retry', attributes: [{ key: 'weft.attempt', value: { intValue: 1 } }] }],
        status: { code: 2, message: 'NO_ENDPOINTS' },
      }] }],
    }],
  }));
}

describe('OTLP receiver', () => {
  it('decodes hex ids (OTLP/JSON) and base64 ids (protobuf JSON mapping) to the same lowercase hex', async () => {
    receiver = await startOtlpReceiver();
    expect(await post(receiver.url, payload(TRACE_HEX.toUpperCase(), SPAN_HEX, ''), { 'content-type': 'application/json' })).toBe(200);
    const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
    expect(await post(receiver.url, gzipSync(payload(b64(TRACE_HEX), b64(SPAN_HEX), b64(SPAN_HEX))), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).toBe(200);
    const [hex, base64] = receiver.spans;
    expect(hex).toEqual({
      service: 'web', traceId: TRACE_HEX, spanId: SPAN_HEX, parentSpanId: '', name: 'GET greeter', kind: 3,
      attributes: { 'http.response.status_code': 200, 'weft.attempts': 2, ok: true, list: ['a', 1.5] },
      events: [{ name: 'retry', attributes: { 'weft.attempt': 1 } }],
      status: { code: 2, message: 'NO_ENDPOINTS' },
    });
    expect(base64).toMatchObject({ traceId: TRACE_HEX, spanId: SPAN_HEX, parentSpanId: SPAN_HEX });
  });

  it('answers 415 to protobuf, 400 to a malformed id, 404 elsewhere, keeping no span', async () => {
    receiver = await startOtlpReceiver();
    expect(await post(receiver.url, Buffer.from([0x0a]), { 'content-type': 'application/x-protobuf' })).toBe(415);
    expect(await post(receiver.url, payload('abc', SPAN_HEX, ''), { 'content-type': 'application/json' })).toBe(400);
    expect(await post(receiver.url.replace('/v1/traces', '/v1/logs'), payload(TRACE_HEX, SPAN_HEX, ''), { 'content-type': 'application/json' })).toBe(404);
    expect(receiver.spans).toEqual([]);
    expect(receiver.requests).toBe(3);
  });
});
