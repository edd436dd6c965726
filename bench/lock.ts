// Bench: one bench at a time per machine — two would share the pinned CPUs and spoil each other's figures.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK = join(tmpdir(), 'weft-bench.lock');

/** Takes the machine-wide bench lock, or throws naming the bench that holds it. Released on exit. */
export function takeBenchLock(): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      process.on('exit', releaseBenchLock);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(LOCK, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
      throw new Error(`another bench (pid ${holder}) is running on this machine; wait for it, figures taken side by side are meaningless`);
    }
    unlinkSync(LOCK); // left by a bench that died without cleaning up
  }
  throw new Error(`could not take the bench lock ${LOCK}`);
}

function releaseBenchLock(): void {
  try {
    if (readFileSync(LOCK, 'utf8').trim() === String(process.pid)) unlinkSync(LOCK);
  } catch {
    // already gone
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
