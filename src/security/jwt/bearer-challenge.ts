// Security/JWT: the RFC 6750 WWW-Authenticate challenge sent with a 401.

/**
 * `Bearer realm="<service>"` when no token came (RFC 6750 section 3.1: no error code then), and with
 * `error="invalid_token", error_description="..."` when one came and failed.
 */
export function bearerChallenge(realm: string, description?: string): string {
  const base = `Bearer realm="${quotable(realm)}"`;
  return description === undefined ? base : `${base}, error="invalid_token", error_description="${quotable(description)}"`;
}

/** RFC 6750 allows %x20-21 / %x23-5B / %x5D-7E inside the quoted values: no quote, backslash or control characters. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}
