// Security/JWT: reading a token from the request header a provider names, with its scheme prefix.

export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface TokenLocation {
  /** Lower-case header name. */
  readonly header: string;
  /** Such as "Bearer "; matched case-insensitively, as auth schemes are (RFC 9110 section 11.1). */
  readonly prefix: string;
}

/** `absent`: the header is missing or carries another scheme (as Envoy: then the token counts as missing). */
export type ExtractedToken = { readonly kind: 'token'; readonly token: string } | { readonly kind: 'absent' } | { readonly kind: 'malformed'; readonly why: string };

const ABSENT: ExtractedToken = { kind: 'absent' };
/** The JWS compact form: three base64url parts. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function extractToken(location: TokenLocation, headers: RequestHeaders): ExtractedToken {
  const value = headers[location.header];
  if (value === undefined) return ABSENT;
  if (typeof value !== 'string') {
    if (value.length === 0) return ABSENT;
    return { kind: 'malformed', why: `more than one ${location.header} header` };
  }
  const { prefix } = location;
  if (value.length < prefix.length || value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return ABSENT;
  const token = value.slice(prefix.length).trim();
  if (token === '') return { kind: 'malformed', why: `an empty token in ${location.header}` };
  if (!COMPACT_JWS.test(token)) return { kind: 'malformed', why: `the ${location.header} header does not hold a compact JWT` };
  return { kind: 'token', token };
}
