// Security: the certificates of a PEM text, each block on its own (bundles and chains are several blocks, glued with or without newlines).

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every `CERTIFICATE` block of `text`, in order; empty when there is none. */
export function pemCertificateBlocks(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}
