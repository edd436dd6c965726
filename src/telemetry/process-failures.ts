// Telemetry: what a weft process does with a promise rejection nobody handled and with an exception nothing caught.
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';

// pino and prom-client are loaded when first needed (a failure, a runtime's registry): installing the policy costs a command nothing.
const require = createRequire(import.meta.url);

/**
 * A rejection nobody handled is a bug in a background task (a timer, a refresh, a probe), not in the state of a
 * request: the process logs it with its stack, counts it and keeps serving, so that one such bug cannot take a
 * sidecar's traffic or a control plane's registry down. An exception nothing caught leaves the process in an unknown
 * state: it is logged and the process exits 1, for its supervisor to restart it.
 */
let unhandledRejections = 0;
const counters = new Set<Counter>();
let installed = false;
let log: Logger | undefined;

/** The logger failures go to: the one given, else pino on stderr, made at the first failure. */
function failureLog(): Logger {
  if (log === undefined) {
    const { pino } = require('pino') as typeof import('pino');
    log = pino({ name: 'weft' }, pino.destination(2));
  }
  return log;
}

export function installProcessFailurePolicy(logger?: Logger): void {
  if (logger !== undefined) log = logger;
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason: unknown) => {
    unhandledRejections++;
    for (const counter of counters) counter.inc();
    failureLog().error({ err: reason instanceof Error ? reason : new Error(String(reason)) }, 'unhandled promise rejection; the process keeps serving');
  });
  process.on('uncaughtExceptionMonitor', (error: Error) => {
    failureLog().fatal({ err: error }, 'uncaught exception; the process exits');
  });
}

export function unhandledRejectionCount(): number {
  return unhandledRejections;
}

/** Counts unhandled rejections in a runtime's registry too (from the process's start). */
export function registerProcessFailureMetrics(registry: Registry): void {
  const name = 'weft_unhandled_rejections_total';
  if (registry.getSingleMetric(name) !== undefined) return;
  const { Counter: CounterClass } = require('prom-client') as typeof import('prom-client');
  const counter: Counter = new CounterClass({
    name,
    help: 'Promise rejections no code handled since the process started (each is logged with its stack; the process keeps serving).',
    registers: [registry],
  });
  counter.inc(unhandledRejections);
  counters.add(counter);
}
