// Control CA: the latest certificate issued to each sidecar, kept in the registry backend so every control plane on one store lists the same.
import type { IssuedCertificateRecord } from '../../model/index.js';
import type { RegistryBackend } from '../../registry/index.js';

export const ISSUANCE_PREFIX = 'certificates/';
/** Records of certificates that expired longer ago than this are dropped: the sidecar is gone or holds a newer one. */
export const EXPIRED_RECORD_RETENTION_MS = 3_600_000;

export class IssuanceLog {
  constructor(
    private readonly backend: RegistryBackend,
    private readonly now: () => number,
  ) {}

  /** One key per sidecar, so a renewal replaces the sidecar's previous record. */
  async record(entry: IssuedCertificateRecord): Promise<void> {
    const key = `${ISSUANCE_PREFIX}${entry.sidecar}`;
    await this.backend.put(key, new TextEncoder().encode(JSON.stringify(entry)));
  }

  /** Current records sorted by service then sidecar; stale ones are deleted on the way (a bounded amount per call). */
  async list(): Promise<IssuedCertificateRecord[]> {
    const { items } = await this.backend.list(ISSUANCE_PREFIX);
    const cutoff = this.now() - EXPIRED_RECORD_RETENTION_MS;
    const records: IssuedCertificateRecord[] = [];
    const stale: string[] = [];
    for (const item of items) {
      const record = decode(item.value);
      if (!record || Date.parse(record.notAfter) < cutoff) stale.push(item.key);
      else records.push(record);
    }
    // Best effort: another control plane may prune the same keys, and a failed delete is retried at the next listing.
    await Promise.allSettled(stale.slice(0, 256).map((key) => this.backend.delete(key)));
    return records.sort((a, b) => a.service.localeCompare(b.service) || a.sidecar.localeCompare(b.sidecar));
  }
}

function decode(value: Uint8Array): IssuedCertificateRecord | undefined {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(value)) as Partial<IssuedCertificateRecord> | null;
    if (!parsed || typeof parsed.sidecar !== 'string' || typeof parsed.service !== 'string' || typeof parsed.notAfter !== 'string') return undefined;
    return parsed as IssuedCertificateRecord;
  } catch {
    return undefined;
  }
}
