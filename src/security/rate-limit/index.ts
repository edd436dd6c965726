// Security/rate-limit: local token buckets for a service's inbound rate limits.
export * from './token-bucket.js';
export * from './rate-limiter.js';
