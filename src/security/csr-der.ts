// Security: the DER of a PKCS#10 request (RFC 2986) for a workload key — subject CN, one URI SAN, ecdsa-with-SHA256 — written by hand so that a sidecar need not load an X.509 library to ask for its certificate.
import { sign, type KeyObject } from 'node:crypto';

/** What goes into the request; `publicKeyInfo` is the DER SubjectPublicKeyInfo of the key that `privateKey` signs with. */
export interface CsrContent {
  readonly commonName: string;
  readonly uri: string;
  readonly publicKeyInfo: Uint8Array;
  readonly privateKey: KeyObject;
}

const OID_COMMON_NAME = '2.5.4.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  /** CertificationRequestInfo's `attributes [0] IMPLICIT SET OF Attribute`: constructed, so the SET's contents sit inside. */
  attributes: 0xa0,
  /** GeneralName `uniformResourceIdentifier [6] IMPLICIT IA5String`: primitive, the string's bytes directly. */
  uri: 0x86,
} as const;

/** The DER CertificationRequest: the info, signed by `privateKey` with ECDSA over SHA-256. */
export function certificationRequestDer(content: CsrContent): Buffer {
  const info = certificationRequestInfo(content);
  // DER-encoded Ecdsa-Sig-Value is what the BIT STRING of an ecdsa-with-SHA256 signature holds (RFC 5480), not WebCrypto's r||s.
  const signature = sign('sha256', info, { key: content.privateKey, dsaEncoding: 'der' });
  return sequence(info, signatureAlgorithm(), bitString(signature));
}

function certificationRequestInfo(content: CsrContent): Buffer {
  const version = tlv(TAG.integer, Buffer.of(0));
  return sequence(version, subjectName(content.commonName), Buffer.from(content.publicKeyInfo), attributes(content.uri));
}

/** A Name of one RDN holding only the CN; UTF8String because RFC 5280 asks new certificates (and so their requests) for it. */
function subjectName(commonName: string): Buffer {
  const commonNameAttribute = sequence(oid(OID_COMMON_NAME), tlv(TAG.utf8String, Buffer.from(commonName, 'utf8')));
  return sequence(set(commonNameAttribute));
}

/** A request carries the extensions it wants in an extensionRequest attribute (PKCS#9); ours is the one SAN. */
function attributes(uri: string): Buffer {
  const extensionRequest = sequence(oid(OID_EXTENSION_REQUEST), set(sequence(subjectAltName(uri))));
  return tlv(TAG.attributes, extensionRequest);
}

/** `critical` is left out: DER omits a DEFAULT FALSE, and a SAN beside a non-empty subject is not critical (RFC 5280 4.2.1.6). */
function subjectAltName(uri: string): Buffer {
  const generalNames = sequence(tlv(TAG.uri, ia5String(uri)));
  return sequence(oid(OID_SUBJECT_ALT_NAME), tlv(TAG.octetString, generalNames));
}

/** ecdsa-with-SHA256 has no parameters at all, not even NULL (RFC 5758 3.2). */
function signatureAlgorithm(): Buffer {
  return sequence(oid(OID_ECDSA_WITH_SHA256));
}

function ia5String(text: string): Buffer {
  // IA5 is ASCII and a URI uses only its printable part (RFC 3986); anything else would be written as other bytes, another URI.
  if (/[^ -~]/.test(text)) throw new RangeError(`a URI in a certificate request must be printable ASCII, got "${text}"`);
  return Buffer.from(text, 'ascii');
}

/** A signature is whole bytes, so the leading "unused bits" octet is 0. */
function bitString(bytes: Uint8Array): Buffer {
  return tlv(TAG.bitString, Buffer.of(0), bytes);
}

function sequence(...contents: Uint8Array[]): Buffer {
  return tlv(TAG.sequence, ...contents);
}

/** A SET OF with one member, so DER's sorting of members has nothing to do. */
function set(member: Uint8Array): Buffer {
  return tlv(TAG.set, member);
}

/** The first two arcs share one subidentifier (40·first + second); every subidentifier is base 128, high bit on all but its last byte. */
function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  return tlv(TAG.oid, Buffer.from([first * 40 + second, ...rest].flatMap(base128)));
}

function base128(value: number): number[] {
  const bytes = [value & 0x7f];
  for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) bytes.unshift((rest & 0x7f) | 0x80);
  return bytes;
}

function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.of(tag), derLength(body.length), body]);
}

/** DER lengths: below 128 one byte; otherwise 0x80 + the count of big-endian bytes that follow, as few as will hold it. */
function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
