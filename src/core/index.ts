// Core: shapes, errors, time and randomness shared by every other folder; no I/O.
export * from './errors.js';
export * from './call-context.js';
export * from './clock.js';
export * from './rng.js';
export * from './backoff.js';
export * from './runtime.js';
