// Test fixtures for the HTTP front fuzz: a grammar of valid HTTP/1.1 requests, the mutations and ambiguous framings applied to it, rendered to bytes per case.
import fc from 'fast-check';

/** A path that only ever appears inside a body or behind an ambiguous framing: an app that sees it was handed a smuggled request. */
export const SMUGGLED = '/smuggled';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

export type Body =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly text: string }
  | { readonly kind: 'chunked'; readonly chunks: readonly string[]; readonly extension: boolean; readonly trailer: boolean };

export interface RequestSpec {
  readonly method: Method;
  readonly segment: string;
  readonly query: string;
  readonly host: string;
  readonly absolute: boolean;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Body;
  readonly expectContinue: boolean;
}

export type Mutation =
  | { readonly kind: 'none' }
  | { readonly kind: 'insert'; readonly at: number; readonly char: string }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'flip'; readonly at: number }
  | { readonly kind: 'duplicate-line'; readonly line: number }
  | { readonly kind: 'space-in-name'; readonly line: number; readonly form: 'before-colon' | 'inside' | 'leading' | 'tab-before-colon' }
  | { readonly kind: 'obs-fold'; readonly line: number }
  | { readonly kind: 'huge-header'; readonly size: number }
  | { readonly kind: 'many-headers'; readonly count: number }
  | { readonly kind: 'bare-lf'; readonly all: boolean; readonly line: number }
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'method'; readonly method: string }
  | { readonly kind: 'target'; readonly target: string }
  | { readonly kind: 'upgrade'; readonly value: string }
  | { readonly kind: 'host'; readonly form: string }
  | { readonly kind: 'content-length'; readonly value: string; readonly delta: number }
  | { readonly kind: 'transfer-encoding'; readonly value: string }
  | { readonly kind: 'chunk-size'; readonly size: string }
  | { readonly kind: 'expect'; readonly value: string };

/**
 * Framings where two readings of the same bytes disagree about where the request ends. Every one is built so that
 * a reading the RFC allows (refuse it, read the payload as body, or answer and then close the connection) never
 * hands the payload — a request for SMUGGLED — to anyone; only a desynchronised reading does.
 */
export type Ambiguity =
  | { readonly kind: 'cl-te'; readonly teFirst: boolean }
  | { readonly kind: 'te-cl' }
  | { readonly kind: 'two-cl'; readonly zeroFirst: boolean }
  | { readonly kind: 'te-value'; readonly value: string }
  | { readonly kind: 'te-line'; readonly line: string }
  | { readonly kind: 'chunk-size'; readonly form: string }
  | { readonly kind: 'cl-value'; readonly form: string }
  | { readonly kind: 'http10-te' }
  | { readonly kind: 'get-body' }
  | { readonly kind: 'post-chunked' }
  | { readonly kind: 'after-connect' }
  | { readonly kind: 'after-pri' }
  | { readonly kind: 'after-websocket'; readonly connectionUpgrade: boolean };

export type Unit = { readonly kind: 'request'; readonly request: RequestSpec; readonly mutation: Mutation } | { readonly kind: 'ambiguous'; readonly ambiguity: Ambiguity };

export interface Script {
  readonly units: readonly Unit[];
  /** The last unit asks for Connection: close. */
  readonly closeLast: boolean;
  /** Where the bytes are cut into separate writes (taken modulo their length). */
  readonly cuts: readonly number[];
}

/** What a unit the grammar left intact must come to: a 200 echoing it, and the app seeing exactly this. */
export interface Expected {
  readonly method: string;
  readonly path: string;
  readonly body: string;
  readonly headers: readonly (readonly [string, string])[];
}

export interface RenderedUnit {
  readonly label: string;
  /** Set when the unit is a valid request: what the app must see and the reply must echo. */
  readonly expected: Expected | null;
}

export interface RenderedScript {
  readonly pieces: Buffer[];
  readonly units: readonly RenderedUnit[];
  readonly bytes: number;
}

/** Names the grammar adds itself, or that frame the message or the hop: random extra headers stay clear of them. */
const RESERVED = /^(host|content-length|transfer-encoding|connection|keep-alive|upgrade|expect|te|trailer|proxy-.*|x-weft-.*|http2-settings)$/i;

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,20}$/).filter((name) => !RESERVED.test(name));
const headerValue = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e\x80-\xff]{1,12}$/) },
  { weight: 1, arbitrary: fc.constant('') },
);
const bodyText = fc.stringMatching(/^[a-z0-9 ]{1,64}$/);
const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant<Body>({ kind: 'none' }),
  fc.record({ kind: fc.constant('length' as const), text: bodyText }),
  fc.record({
    kind: fc.constant('chunked' as const),
    chunks: fc.array(fc.stringMatching(/^[a-z0-9 ]{1,20}$/), { minLength: 1, maxLength: 3 }),
    extension: fc.boolean(),
    trailer: fc.boolean(),
  }),
);

export const requestSpec: fc.Arbitrary<RequestSpec> = fc.record({
  method: fc.constantFrom(...METHODS),
  segment: fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,16}$/),
  query: fc.stringMatching(/^[A-Za-z0-9=&%._/?-]{0,20}$/),
  host: fc.constantFrom('greeter', 'greeter:80', 'Greeter', 'greeter.weft', 'greeter.weft:8080', 'greeter.'),
  absolute: fc.boolean(),
  headers: fc.array(fc.tuple(token, headerValue), { maxLength: 4 }),
  body,
  expectContinue: fc.boolean(),
});

const position = fc.nat({ max: 10_000 });

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: position, char: fc.constantFrom('\r', '\n', '\0', ' ', '\t', '\x7f', '\xff', ':', '\x0b', '\r\n', '\n\n') }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: position }),
  fc.record({ kind: fc.constant('duplicate-line' as const), line: position }),
  fc.record({ kind: fc.constant('space-in-name' as const), line: position, form: fc.constantFrom('before-colon' as const, 'inside' as const, 'leading' as const, 'tab-before-colon' as const) }),
  fc.record({ kind: fc.constant('obs-fold' as const), line: position }),
  fc.record({ kind: fc.constant('huge-header' as const), size: fc.integer({ min: 8_000, max: 80_000 }) }),
  fc.record({ kind: fc.constant('many-headers' as const), count: fc.integer({ min: 100, max: 2_500 }) }),
  fc.record({ kind: fc.constant('bare-lf' as const), all: fc.boolean(), line: position }),
  fc.record({ kind: fc.constant('version' as const), version: fc.constantFrom('HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', '', 'HTTP/1.1\0') }),
  fc.record({
    kind: fc.constant('method' as const),
    method: fc.constantFrom('get', 'FOO', 'TRACE', 'PROPFIND', 'QUERY', 'CONNECT', 'PRI', ' GET', 'G ET', 'SEARCH', 'M-SEARCH', 'PURGE', 'GET\0', ''),
  }),
  fc.record({
    kind: fc.constant('target' as const),
    target: fc.constantFrom('*', 'http://other.example/x', 'http://greeter', 'http://[::1', 'https://greeter{path}', '//greeter{path}', 'http://user@greeter{path}', 'greeter:80', '{path}#frag', '{path}/../../..', '/%00', `/${'a'.repeat(9_000)}`, 'http://greeter:99999{path}', 'http://greeter:80@other{path}', ''),
  }),
  fc.record({ kind: fc.constant('upgrade' as const), value: fc.constantFrom('websocket', 'h2c', 'h2c, websocket', 'foo/1', '', 'WebSocket') }),
  fc.record({ kind: fc.constant('host' as const), form: fc.constantFrom('none', 'two-same', 'two-different', 'empty', 'port-garbage', 'ipv6', 'userinfo', 'space', 'comma', 'tab') }),
  fc.record({
    kind: fc.constant('content-length' as const),
    value: fc.constantFrom('+5', '-1', '1e3', '0x10', ' ', '99999999999999999999', '5, 5', '5 5', '', 'delta'),
    delta: fc.integer({ min: -3, max: 3 }),
  }),
  fc.record({ kind: fc.constant('transfer-encoding' as const), value: fc.constantFrom('chunked, gzip', 'gzip', 'identity', 'xchunked', 'chunked', 'Chunked', 'chunked, chunked', '') }),
  fc.record({ kind: fc.constant('chunk-size' as const), size: fc.constantFrom('zz', '-1', '0x5', ' 5', '5 ', 'ffffffffffffffffff', '', '5;', '5;a="b', '5\n', '6', '4') }),
  fc.record({ kind: fc.constant('expect' as const), value: fc.constantFrom('100-continue', '200-ok', '', '100-continue, foo') }),
);

export const ambiguity: fc.Arbitrary<Ambiguity> = fc.oneof(
  fc.record({ kind: fc.constant('cl-te' as const), teFirst: fc.boolean() }),
  fc.constant<Ambiguity>({ kind: 'te-cl' }),
  fc.record({ kind: fc.constant('two-cl' as const), zeroFirst: fc.boolean() }),
  fc.record({
    kind: fc.constant('te-value' as const),
    value: fc.constantFrom(' chunked', 'chunked ', '\tchunked', 'xchunked', 'chunked;q=1', '"chunked"', 'CHUNKED', 'identity, chunked', 'chunked, identity', 'chunked\x0b', 'chunk', 'chunked,', ',chunked', 'chunked\0'),
  }),
  fc.record({
    kind: fc.constant('te-line' as const),
    line: fc.constantFrom(
      'Transfer-Encoding : chunked',
      'Transfer-Encoding\t: chunked',
      ' Transfer-Encoding: chunked',
      'Transfer_Encoding: chunked',
      'Transfer-Encoding:\r\n chunked',
      'X-Pad: x\nTransfer-Encoding: chunked',
      'X-Pad: x\rTransfer-Encoding: chunked',
      'X-Pad: x\r\n\tTransfer-Encoding: chunked',
      'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity',
      'Transfer-Encoding: identity\r\nTransfer-Encoding: chunked',
    ),
  }),
  fc.record({ kind: fc.constant('chunk-size' as const), form: fc.constantFrom('0x%h', '0 %h', '0_%h', '-0%h', '+%h', '%h\0', '1%z%h', '%h ', ' %h', '0\t%h', '%h\n', '0%h', '%h;a=\rb') }),
  fc.record({ kind: fc.constant('cl-value' as const), form: fc.constantFrom('0 %d', '0, %d', '0,%d', '0\t%d', '%d, 0', '0%d', '+%d', '%d.0', '0x%h', ' %d', '0\r\n %d', '%d\0', '0;%d') }),
  fc.constant<Ambiguity>({ kind: 'http10-te' }),
  fc.constant<Ambiguity>({ kind: 'get-body' }),
  fc.constant<Ambiguity>({ kind: 'post-chunked' }),
  fc.constant<Ambiguity>({ kind: 'after-connect' }),
  fc.constant<Ambiguity>({ kind: 'after-pri' }),
  fc.record({ kind: fc.constant('after-websocket' as const), connectionUpgrade: fc.boolean() }),
);

const unit: fc.Arbitrary<Unit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('request' as const), request: requestSpec, mutation: fc.constant<Mutation>({ kind: 'none' }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('request' as const), request: requestSpec, mutation }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ambiguous' as const), ambiguity }) },
);

export const script: fc.Arbitrary<Script> = fc.record({
  units: fc.array(unit, { minLength: 1, maxLength: 3 }),
  closeLast: fc.boolean(),
  cuts: fc.array(position, { maxLength: 3 }),
});

/** The tag that marks every request of one case, in its path: fixed width, so that no mutation of one case's tag names another case. */
export function caseTag(id: number): string {
  return `k${String(id).padStart(6, '0')}k`;
}

/** The case a path names, or undefined. */
export function caseOfPath(path: string): number | undefined {
  const match = /\/k(\d{6})k\//.exec(path);
  return match ? Number(match[1]) : undefined;
}

export function renderScript(s: Script, id: number): RenderedScript {
  const tag = caseTag(id);
  const texts: string[] = [];
  const units: RenderedUnit[] = [];
  s.units.forEach((u, i) => {
    const close = s.closeLast && i === s.units.length - 1;
    const rendered = u.kind === 'request' ? renderRequest(u.request, u.mutation, `/${tag}/u${i}/`, close) : renderAmbiguity(u.ambiguity, `/${tag}/u${i}/`, tag, close);
    texts.push(rendered.text);
    units.push({ label: rendered.label, expected: rendered.expected });
  });
  const all = Buffer.from(texts.join(''), 'latin1');
  const cuts = [...new Set(s.cuts.map((c) => c % all.length).filter((c) => c > 0))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(all.subarray(from, cut));
    from = cut;
  }
  pieces.push(all.subarray(from));
  return { pieces, units, bytes: all.length };
}

interface RenderedText {
  readonly text: string;
  readonly label: string;
  readonly expected: Expected | null;
}

function bodyOf(b: Body): { framing: [string, string] | null; text: string; plain: string } {
  if (b.kind === 'none') return { framing: null, text: '', plain: '' };
  if (b.kind === 'length') return { framing: ['Content-Length', String(b.text.length)], text: b.text, plain: b.text };
  const chunks = b.chunks.map((c) => `${c.length.toString(16)}${b.extension ? ';ext=1' : ''}\r\n${c}\r\n`).join('');
  return { framing: ['Transfer-Encoding', 'chunked'], text: `${chunks}0\r\n${b.trailer ? 'X-Trailer: t\r\n' : ''}\r\n`, plain: b.chunks.join('') };
}

function renderRequest(r: RequestSpec, m: Mutation, prefix: string, close: boolean): RenderedText {
  const path = `${prefix}${r.segment}${r.query === '' ? '' : `?${r.query}`}`;
  let method: string = r.method;
  let target = r.absolute ? `http://greeter${path}` : path;
  let version = 'HTTP/1.1';
  const { framing, plain } = bodyOf(r.body);
  let { text: bodyText } = bodyOf(r.body);
  let lines: string[] = [`Host: ${r.host}`, ...r.headers.map(([n, v]) => `${n}: ${v}`)];
  if (framing) lines.push(`${framing[0]}: ${framing[1]}`);
  if (r.expectContinue && framing) lines.push('Expect: 100-continue');
  if (close) lines.push('Connection: close');
  const label = m.kind === 'none' ? 'valid' : m.kind;
  const setFraming = (name: string, value: string): void => {
    lines = lines.filter((l) => !/^(content-length|transfer-encoding):/i.test(l));
    lines.push(`${name}: ${value}`);
  };
  switch (m.kind) {
    case 'none':
      break;
    case 'duplicate-line': {
      const at = m.line % (lines.length + 1);
      if (at === lines.length) lines.unshift(`${method} ${target} ${version}`);
      else lines.splice(at, 0, lines[at]!);
      break;
    }
    case 'space-in-name': {
      const at = m.line % lines.length;
      const line = lines[at]!;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const rest = line.slice(colon);
      lines[at] =
        m.form === 'before-colon' ? `${name} ${rest}` : m.form === 'tab-before-colon' ? `${name}\t${rest}` : m.form === 'leading' ? ` ${line}` : `${name.slice(0, 1)} ${name.slice(1)}${rest}`;
      break;
    }
    case 'obs-fold': {
      const at = m.line % lines.length;
      lines.splice(at + 1, 0, ' folded continuation');
      break;
    }
    case 'huge-header':
      lines.push(`X-Huge: ${'a'.repeat(m.size)}`);
      break;
    case 'many-headers':
      for (let i = 0; i < m.count; i++) lines.push(`X-Many-${i}: ${i}`);
      break;
    case 'version':
      version = m.version;
      break;
    case 'method':
      method = m.method;
      break;
    case 'target':
      target = m.target.replace('{path}', path);
      break;
    case 'upgrade':
      lines.push('Connection: Upgrade', `Upgrade: ${m.value}`);
      break;
    case 'host':
      lines = lines.filter((l) => !/^host:/i.test(l));
      if (m.form === 'two-same') lines.push(`Host: ${r.host}`, `Host: ${r.host}`);
      else if (m.form === 'two-different') lines.push(`Host: ${r.host}`, 'Host: other.example');
      else if (m.form === 'empty') lines.push('Host: ');
      else if (m.form === 'port-garbage') lines.push('Host: greeter:8x0');
      else if (m.form === 'ipv6') lines.push('Host: [::1]:80');
      else if (m.form === 'userinfo') lines.push('Host: user@greeter');
      else if (m.form === 'space') lines.push('Host: greeter other');
      else if (m.form === 'comma') lines.push('Host: greeter, other');
      else if (m.form === 'tab') lines.push('Host:\tgreeter\t');
      break;
    case 'content-length':
      if (bodyText === '') bodyText = 'abcde';
      if (r.body.kind === 'chunked') bodyText = plain;
      setFraming('Content-Length', m.value === 'delta' ? String(Math.max(0, bodyText.length + m.delta)) : m.value);
      break;
    case 'transfer-encoding':
      if (bodyText === '') bodyText = '5\r\nabcde\r\n0\r\n\r\n';
      setFraming('Transfer-Encoding', m.value);
      break;
    case 'chunk-size': {
      const chunk = r.body.kind === 'chunked' ? r.body.chunks[0]! : 'abcde';
      bodyText = `${m.size}\r\n${chunk}\r\n0\r\n\r\n`;
      setFraming('Transfer-Encoding', 'chunked');
      break;
    }
    case 'expect':
      lines.push(`Expect: ${m.value}`);
      break;
    case 'insert':
    case 'delete':
    case 'flip':
    case 'bare-lf':
      break;
  }
  const all = [`${method} ${target} ${version}`, ...lines];
  let head: string;
  let end = '\r\n\r\n';
  if (m.kind === 'bare-lf') {
    if (m.all) {
      head = all.join('\n');
      end = '\n\n';
    } else {
      const at = m.line % all.length;
      head = all.map((l, i) => (i === 0 ? l : `${i === at ? '\n' : '\r\n'}${l}`)).join('');
    }
  } else {
    head = all.join('\r\n');
  }
  if (m.kind === 'insert') {
    const at = m.at % (head.length + 1);
    head = head.slice(0, at) + m.char + head.slice(at);
  } else if (m.kind === 'delete') {
    const at = m.at % head.length;
    head = head.slice(0, at) + head.slice(at + m.length);
  } else if (m.kind === 'flip') {
    // The high bit only: a flipped digit of the case tag is never another digit.
    const at = m.at % head.length;
    head = head.slice(0, at) + String.fromCharCode(head.charCodeAt(at) ^ 0x80) + head.slice(at + 1);
  }
  const expected: Expected | null = m.kind === 'none' ? { method: r.method, path, body: plain, headers: r.headers } : null;
  return { text: `${head}${end}${bodyText}`, label, expected };
}

function renderAmbiguity(a: Ambiguity, prefix: string, tag: string, close: boolean): RenderedText {
  const path = `${prefix}${a.kind}`;
  const payload = `GET ${SMUGGLED}/${tag}/ HTTP/1.1\r\nHost: greeter\r\n\r\n`;
  const hex = payload.length.toString(16);
  const closing = close ? 'Connection: close\r\n' : '';
  const request = (method: string, lines: readonly string[], b: string): string => `${method} ${path} HTTP/1.1\r\nHost: greeter\r\n${lines.map((l) => `${l}\r\n`).join('')}${closing}\r\n${b}`;
  // The payload behind an empty chunked body: a reader that takes Content-Length reads it as body.
  const afterLastChunk = `0\r\n\r\n${payload}`;
  const fill = (form: string): string => form.replaceAll('%h', hex).replaceAll('%d', String(payload.length)).replaceAll('%z', '0'.repeat(16));
  const label = `ambiguous:${a.kind}`;
  const valid = (method: string, body: string): Expected => ({ method, path, body, headers: [] });
  switch (a.kind) {
    case 'cl-te': {
      const framing = [`Content-Length: ${afterLastChunk.length}`, 'Transfer-Encoding: chunked'];
      return { text: request('POST', a.teFirst ? framing.reverse() : framing, afterLastChunk), label, expected: null };
    }
    case 'te-cl':
      return { text: request('POST', ['Transfer-Encoding: chunked', 'Content-Length: 4'], `${hex}\r\n${payload}\r\n0\r\n\r\n`), label, expected: null };
    case 'two-cl': {
      const framing = ['Content-Length: 0', `Content-Length: ${payload.length}`];
      return { text: request('POST', a.zeroFirst ? framing : framing.reverse(), payload), label, expected: null };
    }
    case 'te-value':
      return { text: request('POST', [`Transfer-Encoding: ${a.value}`, `Content-Length: ${afterLastChunk.length}`], afterLastChunk), label, expected: null };
    case 'te-line':
      return { text: request('POST', [a.line, `Content-Length: ${afterLastChunk.length}`], afterLastChunk), label, expected: null };
    case 'chunk-size':
      return { text: request('POST', ['Transfer-Encoding: chunked'], `${fill(a.form)}\r\n${payload}\r\n0\r\n\r\n`), label, expected: null };
    case 'cl-value':
      return { text: request('POST', [`Content-Length: ${fill(a.form)}`], payload), label, expected: null };
    case 'http10-te':
      return { text: `POST ${path} HTTP/1.0\r\nHost: greeter\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n${afterLastChunk}`, label, expected: null };
    case 'get-body':
      return { text: request('GET', [`Content-Length: ${payload.length}`], payload), label, expected: valid('GET', payload) };
    case 'post-chunked':
      return { text: request('POST', ['Transfer-Encoding: chunked'], `${hex}\r\n${payload}\r\n0\r\n\r\n`), label, expected: valid('POST', payload) };
    case 'after-connect':
      return { text: `CONNECT greeter:80 HTTP/1.1\r\nHost: greeter:80\r\n\r\n${payload}`, label, expected: null };
    case 'after-pri':
      return { text: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${payload}`, label, expected: null };
    case 'after-websocket':
      return {
        text: request('GET', [...(a.connectionUpgrade ? ['Connection: Upgrade'] : []), 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='], payload),
        label,
        expected: null,
      };
  }
}
