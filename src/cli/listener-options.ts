// CLI: the listener-limit flags shared by `weft proxy`, `weft run` and `weft control`.
import type { Command } from 'commander';
import { LISTENER_LIMIT_BOUNDS, LISTENER_LIMIT_DEFAULTS, type ListenerLimits } from '../listener/listener-limits.js';
import { integerFlag } from './flag-parsers.js';

export interface ListenerLimitOptions {
  headerTimeout?: number;
  requestTimeout?: number;
  idleTimeout?: number;
  maxConnections?: number;
}

const b = LISTENER_LIMIT_BOUNDS;
const d = LISTENER_LIMIT_DEFAULTS;

export function addListenerLimitOptions(command: Command, which: string): Command {
  return command
    .option('--header-timeout <ms>', `a request head must arrive within this time, else 408 (${which}; default ${d.headersTimeoutMs})`, integerFlag(b.headersTimeoutMs.min, b.headersTimeoutMs.max, ' ms'))
    .option('--request-timeout <ms>', `a whole request must arrive within this time, 0 for no limit (${which}; default ${d.requestTimeoutMs})`, integerFlag(b.requestTimeoutMs.min, b.requestTimeoutMs.max, ' ms'))
    .option('--idle-timeout <ms>', `an idle keep-alive connection is closed after this time (${which}; default ${d.idleTimeoutMs})`, integerFlag(b.idleTimeoutMs.min, b.idleTimeoutMs.max, ' ms'))
    .option('--max-connections <n>', `connections open at once; more are refused and counted (${which}; default ${d.maxConnections})`, integerFlag(b.maxConnections.min, b.maxConnections.max));
}

/** The limits the flags set; a setting not given is absent. */
export function limitsFromOptions(options: ListenerLimitOptions): Partial<ListenerLimits> {
  return {
    ...(options.headerTimeout === undefined ? {} : { headersTimeoutMs: options.headerTimeout }),
    ...(options.requestTimeout === undefined ? {} : { requestTimeoutMs: options.requestTimeout }),
    ...(options.idleTimeout === undefined ? {} : { idleTimeoutMs: options.idleTimeout }),
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
  };
}
