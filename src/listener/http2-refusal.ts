// Listener: the bytes that tell an HTTP/2 client with prior knowledge, in its own protocol, that this listener speaks HTTP/1.1.

/** What an HTTP/2 connection opened with prior knowledge starts with (RFC 9113 3.4); Node's HTTP/1 parser stops at it. */
export const HTTP2_PREFACE_START = Buffer.from('PRI * HTTP/2.0\r\n');

const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
/** RFC 9113 7: "use HTTP/1.1 for the request". */
export const HTTP_1_1_REQUIRED = 0xd;

function frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  // flags 0, stream 0: both frames belong to the connection.
  return Buffer.concat([header, payload]);
}

/**
 * The server's connection preface (an empty SETTINGS frame, which a client waits for before reading on) and a
 * GOAWAY with HTTP_1_1_REQUIRED and a readable reason, so that curl, h2load or grpc-js report why.
 */
export function http2Refusal(reason = 'weft: this listener speaks HTTP/1.1 only; HTTP/2 is not supported yet'): Buffer {
  const goaway = Buffer.alloc(8 + Buffer.byteLength(reason));
  goaway.writeUInt32BE(0, 0);
  goaway.writeUInt32BE(HTTP_1_1_REQUIRED, 4);
  goaway.write(reason, 8);
  return Buffer.concat([frame(FRAME_SETTINGS, Buffer.alloc(0)), frame(FRAME_GOAWAY, goaway)]);
}
