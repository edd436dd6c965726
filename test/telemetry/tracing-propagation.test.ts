// Telemetry: reading W3C and B3 trace context from request headers and replacing it on forwarded ones.
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { B3Form, extractIncoming, traceHeaders, withTraceHeaders } from '../../src/telemetry/tracing/index.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const OTHER_TRACE = 'a3ce929d0e0e47364bf92f3577b34da6';

describe('tracing propagation', () => {
  it('reads traceparent and tracestate, and prefers them over B3', () => {
    const incoming = extractIncoming({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'k=v', b3: `${OTHER_TRACE}-${SPAN_ID}-1` });
    const context = trace.getSpanContext(incoming.context)!;
    expect(context).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(context.traceState?.serialize()).toBe('k=v');
    expect(incoming.b3).toBe(B3Form.Single);
  });

  it('falls back to B3 when traceparent is invalid, and to no parent when nothing is valid', () => {
    const b3 = extractIncoming({ traceparent: 'garbage', 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID, 'x-b3-sampled': '0' });
    expect(trace.getSpanContext(b3.context)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE });
    expect(b3.b3).toBe(B3Form.Multi);
    const none = extractIncoming({ traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01`, b3: 'not-b3' });
    expect(none.context).toBe(ROOT_CONTEXT);
  });

  it('writes traceparent (and tracestate) always, B3 only in the form the caller used', () => {
    const context = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE });
    expect(traceHeaders(context, B3Form.None)).toEqual(['traceparent', `00-${TRACE_ID}-${SPAN_ID}-00`]);
    expect(traceHeaders(context, B3Form.Single)).toEqual(['traceparent', `00-${TRACE_ID}-${SPAN_ID}-00`, 'b3', `${TRACE_ID}-${SPAN_ID}-0`]);
    const multi = traceHeaders(context, B3Form.Multi);
    expect(multi.slice(2)).toEqual(expect.arrayContaining(['x-b3-traceid', TRACE_ID, 'x-b3-spanid', SPAN_ID, 'x-b3-sampled', '0']));
  });

  it('replaces every incoming trace header, whatever its case, and keeps the rest in order', () => {
    const raw = ['Host', 'greeter', 'TraceParent', 'old', 'x-request-id', '7', 'X-B3-TraceId', 'old', 'X-B3-ParentSpanId', 'old', 'b3', 'old', 'Tracestate', 'old', 'X-B3-Flags', '1', 'te', 'x'];
    expect(withTraceHeaders(raw, ['traceparent', 'new'])).toEqual(['Host', 'greeter', 'x-request-id', '7', 'te', 'x', 'traceparent', 'new']);
  });
});
