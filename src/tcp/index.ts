// TCP: raw TCP through the mesh — an outbound port per upstream service, the inbound port of a tcp service, their limits and metrics.
export type { TcpAddress, TcpServer } from './tcp-server.js';
export { createTcpUpstreamListener, type TcpUpstreamListenerOptions } from './tcp-upstream-listener.js';
export { createTcpInbound, type TcpInboundOptions } from './tcp-inbound.js';
export { resolveTcpLimits, TCP_LIMIT_BOUNDS, TCP_LIMIT_DEFAULTS, type TcpLimitOverrides, type TcpLimits } from './tcp-limits.js';
export { TCP_METRIC_NAMES, TCP_REFUSALS, type TcpRefusal } from './tcp-proxy-metrics.js';
export { compileTcpAuthorization, connectionLevelPolicy, jwtRequired, type TcpAuthorizer, type TcpDenial } from './tcp-authorization.js';
