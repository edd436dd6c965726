// Security/TLS: the SPIFFE id a peer certificate carries, read from node's rendering of its subject alternative names
// (cheaper per handshake than parsing the certificate again; making and parsing ids is security/identity.ts).
/**
 * The SPIFFE id in a certificate's subject alternative names, as node:crypto and node:tls render them
 * (`URI:spiffe://…, DNS:…`, with JSON-quoted values when they hold separators). An SVID carries exactly
 * one URI SAN: none, several, or one that is not a spiffe:// URI gives null.
 */
export function spiffeIdOfSubjectAltName(subjectAltName: string | undefined): string | null {
  if (!subjectAltName) return null;
  let found: string | null = null;
  for (const entry of splitSubjectAltName(subjectAltName)) {
    if (!entry.startsWith('URI:')) continue;
    if (found !== null) return null;
    found = unquote(entry.slice(4));
  }
  return found !== null && found.startsWith('spiffe://') ? found : null;
}

function splitSubjectAltName(text: string): string[] {
  const entries: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (char === ',' && !quoted) {
      entries.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  entries.push(text.slice(start).trim());
  return entries;
}

function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'string' ? parsed : value;
  } catch {
    return value;
  }
}
