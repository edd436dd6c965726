// Bench load: parses the /proc files the usage meter reads — a process's parent and CPU ticks from stat, its resident memory from status.

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks (CLK_TCK per second); every thread of the process counts. */
  cpuTicks: number;
}

/** The text of /proc/<pid>/stat as numbers; undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // comm (field 2) sits in parentheses and may itself hold spaces or ")": only what follows the last ")" splits cleanly.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  // rest[0] is field 3 (state), so ppid (field 4) is rest[1], utime (14) rest[11], stime (15) rest[12].
  const rest = text.slice(close + 2).split(' ');
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (![pid, ppid, utime, stime].every(Number.isFinite)) return undefined;
  return { pid, ppid, cpuTicks: utime + stime };
}

/** VmRSS of the text of /proc/<pid>/status, in bytes; undefined when absent (a kernel thread, a zombie). */
export function parseVmRssBytes(text: string): number | undefined {
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}
