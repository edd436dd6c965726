// Security: what a SPIFFE trust domain may be — a check without certificate code, so a command-line flag can use it cheaply.

export const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const MAX_TRUST_DOMAIN_LENGTH = 255;

/** Why `text` is not a trust domain, or undefined when it is one; for config validation that reports its own errors. */
export function trustDomainProblem(text: string): string | undefined {
  if (text.length === 0 || text.length > MAX_TRUST_DOMAIN_LENGTH) return `expected a trust domain of 1-${MAX_TRUST_DOMAIN_LENGTH} characters`;
  if (!TRUST_DOMAIN.test(text)) return `expected a trust domain of lowercase letters, digits, ".", "-" and "_", got "${text}"`;
  return undefined;
}
