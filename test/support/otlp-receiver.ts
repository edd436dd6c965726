// Test support: a real OTLP/HTTP trace receiver on 127.0.0.1 (POST /v1/traces, OTLP/JSON, gzip or not) collecting decoded spans.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type AttributeValue = string | number | boolean | null | AttributeValue[];

export interface ReceivedSpan {
  /** The resource's service.name. */
  service: string;
  /** Lowercase hex: 32 digits for trace ids, 16 for span ids; parentSpanId '' for a root span. */
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 2 SERVER, 3 CLIENT. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  events: { name: string; attributes: Record<string, AttributeValue> }[];
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
}

export interface OtlpReceiver {
  readonly port: number;
  /** The URL to give an exporter. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Export requests answered, whatever they held. */
  readonly requests: number;
  close(): Promise<void>;
}

export const OTLP_SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}
interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
}
interface JsonSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  attributes?: JsonKeyValue[];
  events?: { name?: string; attributes?: JsonKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface JsonRequest {
  resourceSpans?: { resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[];
}

/** OTLP/JSON writes ids as hex (the spec's JSON mapping); a plain protobuf-JSON mapping writes base64. Both are accepted. */
function idOf(text: string | undefined, bytes: number): string {
  if (text === undefined || text === '') return '';
  if (text.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(text)) return text.toLowerCase();
  const decoded = Buffer.from(text, 'base64');
  if (decoded.length !== bytes) throw new Error(`id "${text}" is neither ${bytes * 2} hex digits nor ${bytes} base64 bytes`);
  return decoded.toString('hex');
}

function valueOf(value: JsonAnyValue | undefined): AttributeValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  // int64 may come as a JSON string (protobuf JSON mapping) or a number.
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  return null;
}

function attributesOf(list: JsonKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) out[key] = valueOf(value);
  return out;
}

function decode(request: JsonRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const service = attributesOf(resourceSpans.resource?.attributes)['service.name'];
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        out.push({
          service: typeof service === 'string' ? service : '',
          traceId: idOf(span.traceId, 16),
          spanId: idOf(span.spanId, 8),
          parentSpanId: idOf(span.parentSpanId, 8),
          name: span.name ?? '',
          kind: span.kind ?? 0,
          attributes: attributesOf(span.attributes),
          events: (span.events ?? []).map((e) => ({ name: e.name ?? '', attributes: attributesOf(e.attributes) })),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
        });
      }
    }
  }
  return out;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let requests = 0;

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    requests++;
    if (req.method !== 'POST' || req.url !== '/v1/traces') return reply(res, 404, { message: `no ${req.method} ${req.url}` });
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('application/json')) return reply(res, 415, { message: `this receiver decodes OTLP/JSON only, got "${type}"` });
    try {
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
      spans.push(...decode(JSON.parse(text) as JsonRequest));
    } catch (error) {
      return reply(res, 400, { message: String(error) });
    }
    reply(res, 200, {});
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
