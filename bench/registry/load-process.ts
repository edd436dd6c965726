// Bench (registry): load processes forked with IPC, so that the load never shares an event loop with the harness.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const live = new Set<LoadProcess>();

export class LoadProcess {
  private readonly child: ChildProcess;
  private readonly inbox: unknown[] = [];
  private waiter: (() => void) | undefined;
  private exited = false;
  private output = '';

  /** Forks `script` (a .ts file next to this one), inheriting the harness's CPU affinity. */
  constructor(
    script: string,
    readonly name: string,
  ) {
    this.child = fork(fileURLToPath(new URL(script, import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-8_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('message', (message) => {
      this.inbox.push(message);
      this.waiter?.();
    });
    this.child.once('exit', () => {
      this.exited = true;
      live.delete(this);
      this.waiter?.();
    });
    live.add(this);
  }

  send(message: unknown): void {
    this.child.send(message as never);
  }

  /** The next message, failing if the process exits or stays silent for `timeoutMs`. */
  async receive<T>(timeoutMs: number): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.inbox.length > 0) {
        const message = this.inbox.shift() as { type?: string; message?: string };
        if (message.type === 'failed') throw new Error(`${this.name}: ${message.message ?? 'failed'}`);
        return message as T;
      }
      if (this.exited) throw new Error(`${this.name} exited\n${this.output}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no reply within ${timeoutMs} ms\n${this.output}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  async request<T>(message: unknown, timeoutMs: number): Promise<T> {
    this.send(message);
    return this.receive<T>(timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(timer);
  }
}

/** Stops every load process still running (on the way out, whatever happened). */
export async function stopLoadProcesses(): Promise<void> {
  await Promise.all([...live].map((proc) => proc.stop()));
}

process.on('exit', () => {
  for (const proc of live) proc.stop().catch(() => undefined);
});
