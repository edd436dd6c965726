// CLI: how far an instant is from now, for people: "in 23h 59m", "expired 5m ago".

/** "23h 59m", "5m 10s", "42s", "3d 4h": the two largest units of a span. */
export function formatSpan(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}

/** An expiry relative to now: "in 23h 59m" or "expired 5m 10s ago". */
export function formatExpiry(notAfterMs: number, nowMs: number): string {
  return notAfterMs > nowMs ? `in ${formatSpan(notAfterMs - nowMs)}` : `expired ${formatSpan(nowMs - notAfterMs)} ago`;
}
