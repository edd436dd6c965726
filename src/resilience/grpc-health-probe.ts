// Resilience: one probe of the gRPC health protocol (grpc.health.v1.Health/Check) over HTTP/2, without a gRPC library.
import http2 from 'node:http2';
import { decodeGrpcMessage } from '../http/grpc.js';
import type { ProbeResult } from './app-health-check.js';
import { formatHostPort } from '../model/index.js';

export const GRPC_HEALTH_PATH = '/grpc.health.v1.Health/Check';

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/** A length-prefixed gRPC message holding HealthCheckRequest { string service = 1; } (empty = the whole server). */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const body = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), encodeVarint(name.length), name]);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/**
 * The `status` field (1) of the first HealthCheckResponse in a gRPC body, or an error message. A message without the
 * field is UNKNOWN (0), as proto3 leaves defaults out of the wire.
 */
export function decodeHealthCheckResponse(body: Buffer): { status: number } | { error: string } {
  if (body.length < 5) return { error: 'no gRPC message in the reply' };
  if (body.readUInt8(0) !== 0) return { error: 'compressed gRPC message (none was asked for)' };
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) return { error: 'truncated gRPC message' };
  let offset = 5;
  const end = 5 + length;
  let status = 0;
  while (offset < end) {
    const key = readVarint(body, offset, end);
    if (key === undefined) return { error: 'malformed protobuf field key' };
    offset = key.next;
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (wire === 0) {
      const value = readVarint(body, offset, end);
      if (value === undefined) return { error: 'malformed protobuf varint' };
      offset = value.next;
      if (field === 1) status = value.value;
    } else if (wire === 2) {
      const size = readVarint(body, offset, end);
      if (size === undefined) return { error: 'malformed protobuf length' };
      offset = size.next + size.value;
    } else if (wire === 1) offset += 8;
    else if (wire === 5) offset += 4;
    else return { error: `unsupported protobuf wire type ${wire}` };
  }
  if (offset > end) return { error: 'truncated protobuf field' };
  return { status };
}

/** Calls Health/Check once on a fresh HTTP/2 connection; healthy only on grpc-status 0 with status SERVING. */
export function probeGrpc(host: string, port: number, service: string, timeoutMs: number): Promise<ProbeResult> {
  const authority = formatHostPort(host, port);
  const target = `grpc://${authority}${service ? `/${service}` : ''}`;
  return new Promise((resolve) => {
    let settled = false;
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    let httpStatus = 0;
    const session = http2.connect(`http://${authority}`);
    const done = (ok: boolean, reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve({ ok, reason: `gRPC health check of ${target} ${reason}` });
    };
    const timer = setTimeout(() => done(false, `did not answer within ${timeoutMs} ms`), timeoutMs);
    session.on('error', (err) => done(false, `failed: ${err.message}`));
    const req = session.request({
      ':method': 'POST',
      ':path': GRPC_HEALTH_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'weft-health-check',
    });
    const noteStatus = (headers: http2.IncomingHttpHeaders): void => {
      const status = headers['grpc-status'];
      if (typeof status === 'string') grpcStatus = status;
      const message = headers['grpc-message'];
      if (typeof message === 'string') grpcMessage = decodeGrpcMessage(message);
    };
    req.on('response', (headers) => {
      httpStatus = Number(headers[':status'] ?? 0);
      // A trailers-only reply carries grpc-status in its headers.
      noteStatus(headers);
    });
    req.on('trailers', noteStatus);
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', (err) => done(false, `failed: ${err.message}`));
    req.on('end', () => {
      if (httpStatus !== 200) return done(false, `answered HTTP ${httpStatus}`);
      if (grpcStatus === undefined) return done(false, 'ended without a grpc-status');
      if (grpcStatus !== '0') return done(false, `answered grpc-status ${grpcStatus}${grpcMessage ? ` (${grpcMessage})` : ''}`);
      const decoded = decodeHealthCheckResponse(Buffer.concat(chunks));
      if ('error' in decoded) return done(false, `answered badly: ${decoded.error}`);
      const name = SERVING_STATUS[decoded.status] ?? `status ${decoded.status}`;
      done(decoded.status === 1, `answered ${name}`);
    });
    req.end(encodeHealthCheckRequest(service));
  });
}

function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function readVarint(buffer: Buffer, start: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let offset = start; offset < end && offset < start + 8; offset++) {
    const byte = buffer.readUInt8(offset);
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: offset + 1 };
    scale *= 0x80;
  }
  return undefined;
}
