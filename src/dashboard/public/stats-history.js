// Dashboard (browser): golden metrics over time, kept in the page — the control plane answers one window, the page remembers the last minutes.

const HISTORY_MS = 5 * 60_000;

export const serviceKey = (service) => `service:${service}`;
export const instanceKey = (service, instance) => `instance:${service}/${instance}`;

/** One stats row per key per poll; points older than five minutes fall off. */
export class StatsHistory {
  series = new Map();
  /** The last reply's rows, by reply kind ('service' or 'instance'): a row missing from it has no traffic now. */
  latest = { service: new Map(), instance: new Map() };
  /** Why an instance's sidecar is missing from the last reply ("unreachable: …", "warming up: …"), by instance key. */
  skipped = new Map();

  /** Records a reply of GET /api/v1/stats (by service or by instance) taken at `at` (ms since the epoch). */
  record(reply, at) {
    const latest = new Map();
    this.latest[reply.by] = latest;
    this.skipped = new Map(reply.skipped.map((skip) => [instanceKey(skip.service, skip.instance), skip.reason]));
    for (const row of reply.rows) {
      const key = row.instance === undefined ? serviceKey(row.service) : instanceKey(row.service, row.instance);
      latest.set(key, row);
      let series = this.series.get(key);
      if (!series) {
        series = { t: [], rps: [], success: [], p50: [], p99: [] };
        this.series.set(key, series);
      }
      series.t.push(at / 1000);
      series.rps.push(row.rps);
      series.success.push(row.successRate === null ? null : row.successRate * 100);
      series.p50.push(row.latencyMs.p50);
      series.p99.push(row.latencyMs.p99);
      const stale = series.t.findIndex((t) => t >= (at - HISTORY_MS) / 1000);
      if (stale > 0) for (const values of Object.values(series)) values.splice(0, stale);
    }
  }

  get(key) {
    return this.series.get(key);
  }

  skippedReason(key) {
    return this.skipped.get(key);
  }

  row(key) {
    return this.latest.service.get(key) ?? this.latest.instance.get(key);
  }
}
