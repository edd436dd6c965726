// Dashboard: the web UI served by the control plane (static files and the routes that serve them).
export { loadDashboardAssets, type DashboardAssets } from './dashboard-assets.js';
export { addDashboardRoutes } from './dashboard-routes.js';
