// Core: the one object that carries process-wide services (clock, randomness, logger, metrics) into every module.
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Clock } from './clock.js';
import type { Rng } from './rng.js';

export interface Runtime {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}
