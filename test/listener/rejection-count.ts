// Test fixtures for listeners: how many refusals of a reason a listener has counted, read from its metrics as a scraper would.
import type { Runtime } from '../../src/core/index.js';

export async function rejected(runtime: Runtime, listener: string, reason: string): Promise<number> {
  const text = await runtime.metrics.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`weft_listener_rejected_total{listener="${listener}",reason="${reason}"}`));
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
}
