// Telemetry tests: the value of one series in a Prometheus text exposition, found by name and exact labels.
import { parseLabels } from '../../src/control/stats/index.js';

/** The sample of `name` whose labels are exactly `labels`; undefined when there is none. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>>): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const found = parseLabels(line.slice(name.length + 1, close));
    if (found.size === wanted.length && wanted.every(([k, v]) => found.get(k) === v)) return Number(line.slice(close + 1).trim().split(' ')[0]);
  }
  return undefined;
}
