// Tests for security/ca/authority: serial numbers that survive DER encoding unchanged.
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRootAuthority, randomSerial } from '../../../src/security/ca/authority.js';

describe('randomSerial', () => {
  it('is always 32 hex digits of a positive integer with no leading zero byte', () => {
    for (let i = 0; i < 2_000; i++) {
      const serial = randomSerial();
      expect(serial).toMatch(/^[4-7][0-9a-f]{31}$/);
    }
  });

  it('reads back from a signed root exactly as it was generated', async () => {
    for (let i = 0; i < 8; i++) {
      const authority = await createRootAuthority('mesh.test', 86_400_000, Date.now());
      const serial = authority.certificate.serialNumber;
      expect(serial).toHaveLength(32);
      expect(new X509Certificate(authority.certificate.toString('pem')).serialNumber.toLowerCase()).toBe(serial);
    }
  });
});
