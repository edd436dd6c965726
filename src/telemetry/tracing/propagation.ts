// Telemetry/tracing: reads a request's trace context (W3C traceparent/tracestate, else B3) and writes this hop's on what it forwards.
import type { HeaderMap } from '../../http/index.js';
import { ROOT_CONTEXT, type Context, type TextMapGetter, type TextMapSetter, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';

/** Which B3 form the incoming request carried, so the forwarded request carries it too (a B3-only app keeps its chain). */
export const B3Form = { None: 0, Single: 1, Multi: 2 } as const;
export type B3Form = (typeof B3Form)[keyof typeof B3Form];

/** The trace context a request arrived with: the parent of this hop's span (ROOT_CONTEXT without a valid one). */
export interface IncomingTrace {
  readonly context: Context;
  readonly b3: B3Form;
}

/** Every header a trace context travels in; the incoming ones are replaced by this hop's, never passed on beside them. */
const TRACE_HEADERS = new Set(['traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-parentspanid', 'x-b3-flags']);
/** Name lengths of those headers ('b3' to 'x-b3-parentspanid'): most forwarded headers are passed over without lowercasing. */
const SHORTEST = 2;
const LONGEST = 17;

const w3c = new W3CTraceContextPropagator();
const b3Single = new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER });
const b3Multi = new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });

/** Node's parsed headers have lowercase names, which is what the propagators ask for. */
const headerGetter: TextMapGetter<HeaderMap> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

/** Appends to a raw [name, value, ...] header list, the form the exchange forwards. */
const rawSetter: TextMapSetter<string[]> = {
  set: (carrier, key, value) => {
    carrier.push(key, value);
  },
};

function b3FormOf(headers: HeaderMap): B3Form {
  if (headers['b3'] !== undefined) return B3Form.Single;
  return headers['x-b3-traceid'] !== undefined ? B3Form.Multi : B3Form.None;
}

/** W3C wins when both are present and valid; B3 (single or multi) is read only without a valid traceparent. */
export function extractIncoming(headers: HeaderMap): IncomingTrace {
  const b3 = b3FormOf(headers);
  if (headers.traceparent !== undefined) {
    const context = w3c.extract(ROOT_CONTEXT, headers, headerGetter);
    if (trace.getSpanContext(context) !== undefined) return { context, b3 };
  }
  if (b3 === B3Form.None) return { context: ROOT_CONTEXT, b3 };
  return { context: (b3 === B3Form.Single ? b3Single : b3Multi).extract(ROOT_CONTEXT, headers, headerGetter), b3 };
}

/** The headers that carry `context` (this hop's span) on: traceparent and tracestate, plus B3 in the form it came in. */
export function traceHeaders(context: Context, b3: B3Form): string[] {
  const out: string[] = [];
  w3c.inject(context, out, rawSetter);
  if (b3 === B3Form.Single) b3Single.inject(context, out, rawSetter);
  else if (b3 === B3Form.Multi) b3Multi.inject(context, out, rawSetter);
  return out;
}

function isTraceHeader(name: string): boolean {
  return name.length >= SHORTEST && name.length <= LONGEST && TRACE_HEADERS.has(name.toLowerCase());
}

/** The forwarded headers with the incoming trace headers swapped for this hop's. */
export function withTraceHeaders(raw: readonly string[], trace: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (isTraceHeader(name)) continue;
    out.push(name, raw[i + 1]!);
  }
  for (const item of trace) out.push(item);
  return out;
}
