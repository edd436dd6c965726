// Telemetry: builds a Runtime with a pino logger and a fresh prom-client registry (never the global one).
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { mathRng, systemClock, type Runtime } from '../core/index.js';
import { registerProcessFailureMetrics } from './process-failures.js';

export interface RuntimeOptions {
  /** Component name, logged on every line ("control", "proxy"...). */
  name: string;
  logLevel?: string;
  /** Include Node process metrics (CPU, memory, event loop lag). */
  processMetrics?: boolean;
  logger?: Logger;
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const logger =
    options.logger ??
    pino({ name: `weft-${options.name}`, level: options.logLevel ?? process.env.WEFT_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const metrics = new Registry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: metrics, prefix: 'weft_process_' });
    registerProcessFailureMetrics(metrics);
  }
  return { clock: systemClock, rng: mathRng, logger, metrics };
}
