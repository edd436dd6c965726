// Control CA: the body of POST /api/v1/certificates, validated before anything is signed.
import { z } from 'zod';
import { INSTANCE_ID, SERVICE_NAME, parseOrThrow, type CertificateRequest } from '../../model/index.js';

export const MAX_CSR_BYTES = 16 * 1024;
const SIDECAR_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const schema = z.strictObject(
  {
    service: z.string({ error: 'expected a service name' }).regex(SERVICE_NAME, 'expected a service name (lowercase letters, digits and "-", 1-63 characters)'),
    csr: z
      .string({ error: 'expected a PEM certificate signing request' })
      .max(MAX_CSR_BYTES, `expected a CSR of at most ${MAX_CSR_BYTES} bytes`)
      .regex(/-----BEGIN CERTIFICATE REQUEST-----/, 'expected a PEM certificate signing request'),
    sidecar: z.string({ error: 'expected a sidecar id' }).regex(SIDECAR_ID, 'expected a sidecar id of 1-128 letters, digits, ".", "_", ":" or "-"').optional(),
    instance: z.string({ error: 'expected an instance id' }).regex(INSTANCE_ID, 'expected an instance id').optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : 'expected an object { service, csr, sidecar?, instance? }') },
);

export function parseCertificateRequest(body: unknown): CertificateRequest {
  return parseOrThrow(schema, body) as CertificateRequest;
}
