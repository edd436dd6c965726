// Control stats: golden metrics of the mesh, scraped from the sidecars' admin /metrics and served as GET /api/v1/stats and /api/v1/topology.
export { StatsCollector, STATS_COLLECTOR_DEFAULTS, parseWindow, type StatsCollectorOptions, type StatsRequest } from './stats-collector.js';
export { addStatsRoutes } from './stats-routes.js';
export { histogramQuantile, type Bucket } from './histogram-quantile.js';
export { parseSidecarCounters, parseLabels, type ServiceCounters, type SidecarCounters } from './prom-text.js';
