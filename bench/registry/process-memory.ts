// Bench (registry): a process's resident memory from /proc, and a weft control plane's heap from its /metrics.
import { readFile } from 'node:fs/promises';

/** VmRSS of `pid` in bytes, or NaN where /proc is not available. */
export async function residentBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kib === undefined ? Number.NaN : Number(kib) * 1024;
  } catch {
    return Number.NaN;
  }
}

const HEAP_USED = /^weft_process_nodejs_heap_size_used_bytes (\S+)$/m;

/** Used V8 heap of a weft control plane in bytes, from the Prometheus text of its /metrics; NaN if absent. */
export function heapUsedFromMetrics(text: string): number {
  const value = HEAP_USED.exec(text)?.[1];
  return value === undefined ? Number.NaN : Number(value);
}
