// Listener: limits, refusals and their counts, shared by every weft listener (sidecar outbound, inbound and admin; control plane).
export * from './listener-limits.js';
export * from './listener-guard.js';
export * from './listener-rejections.js';
export * from './http2-refusal.js';
