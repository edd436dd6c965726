// Bench load: what a contender's processes and their descendants (nginx's worker, HAProxy's) used during one run — CPU time and peak resident memory, from /proc.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { parseProcStat, parseVmRssBytes, type ProcStat } from './proc-stat.js';

export interface Usage {
  /** user + system CPU seconds of the process trees between start and stop; NaN without /proc. */
  cpuSeconds: number;
  /** The largest sum of VmRSS over the processes seen at one sample; NaN without /proc. */
  peakRssBytes: number;
  /** How many processes were measured (the roots and their descendants). */
  processes: number;
}

export interface UsageMeter {
  /** Ends the sampling and says what was used; a second call gives the same answer. */
  stop(): Promise<Usage>;
}

/** Often enough to see a peak that lasts a fraction of a second, rarely enough that reading a few files stays invisible beside wrk. */
const SAMPLE_MS = 250;
/** Bounds the scan of /proc and the walk down the process tree on any machine. */
const MAX_PROCESSES = 65_536;

let ticksPerSecond: Promise<number> | undefined;

/** CLK_TCK: the unit of utime and stime (100 on every Linux in practice; getconf says for sure). */
function clockTicks(): Promise<number> {
  ticksPerSecond ??= new Promise((resolve) => {
    execFile('getconf', ['CLK_TCK'], (error, stdout) => {
      const value = Number(stdout.trim());
      resolve(error === null && Number.isInteger(value) && value > 0 ? value : 100);
    });
  });
  return ticksPerSecond;
}

async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone, or no /proc
  }
}

async function readRss(pid: number): Promise<number | undefined> {
  try {
    return parseVmRssBytes(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The roots and every live descendant, with their stats; empty without /proc. */
async function processTree(roots: readonly number[]): Promise<Map<number, ProcStat>> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return new Map();
  }
  const pids = names.filter((name) => /^\d+$/.test(name)).slice(0, MAX_PROCESSES).map(Number);
  const stats = (await Promise.all(pids.map(readStat))).filter((stat): stat is ProcStat => stat !== undefined);
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) {
    const siblings = children.get(stat.ppid);
    if (siblings === undefined) children.set(stat.ppid, [stat]);
    else siblings.push(stat);
  }
  const tree = new Map<number, ProcStat>();
  const queue = stats.filter((stat) => roots.includes(stat.pid));
  // Each process enters once and the tree holds at most every process: the walk ends.
  for (let next = queue.shift(); next !== undefined && tree.size < MAX_PROCESSES; next = queue.shift()) {
    if (tree.has(next.pid)) continue;
    tree.set(next.pid, next);
    queue.push(...(children.get(next.pid) ?? []));
  }
  return tree;
}

/**
 * Starts measuring the trees under `roots` (the pids the harness launched). The tree is taken once, at start:
 * the contenders fork their workers before they answer, and scanning /proc at every sample would cost CPU
 * on the core wrk runs on. A process that exits mid-run loses its CPU time from the sum.
 */
export async function startUsageMeter(roots: readonly number[]): Promise<UsageMeter> {
  const tree = await processTree(roots);
  const pids = [...tree.keys()];
  let peak = Number.NaN;
  let sampling: Promise<void> | undefined;
  const sample = (): Promise<void> => {
    sampling ??= Promise.all(pids.map(readRss))
      .then((rss) => {
        const known = rss.filter((bytes): bytes is number => bytes !== undefined);
        if (known.length > 0) peak = Math.max(Number.isNaN(peak) ? 0 : peak, known.reduce((sum, bytes) => sum + bytes, 0));
      })
      .finally(() => {
        sampling = undefined;
      });
    return sampling;
  };
  await sample();
  // A sample still reading when the next is due is not doubled: sample() returns the one under way.
  const timer = setInterval(() => void sample(), SAMPLE_MS);
  timer.unref();
  let stopped: Promise<Usage> | undefined;
  const stop = async (): Promise<Usage> => {
    clearInterval(timer);
    await sample();
    const after = await Promise.all(pids.map(readStat));
    let ticks = 0;
    let seen = 0;
    for (const stat of after) {
      const before = stat === undefined ? undefined : tree.get(stat.pid);
      if (stat === undefined || before === undefined) continue;
      ticks += stat.cpuTicks - before.cpuTicks;
      seen++;
    }
    return { cpuSeconds: seen === 0 ? Number.NaN : ticks / (await clockTicks()), peakRssBytes: peak, processes: pids.length };
  };
  return { stop: () => (stopped ??= stop()) };
}
