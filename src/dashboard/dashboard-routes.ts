// Dashboard: the control-plane routes that serve the web UI — "/" and its files under /dashboard/, with ETags.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotFoundError } from '../core/index.js';
import type { RouteContext, Router } from '../control/http/index.js';
import { DASHBOARD_PREFIX, type DashboardAsset, type DashboardAssets } from './dashboard-assets.js';

/**
 * Same-origin only: the page talks to this control plane's API and nothing else, which is also what keeps it
 * working offline. uPlot sizes its elements with inline styles, hence 'unsafe-inline' for styles only.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

export function addDashboardRoutes(router: Router, assets: DashboardAssets): void {
  const serve = async ({ req, res, url }: RouteContext) => {
    const asset = assets.get(url.pathname);
    if (!asset) throw new NotFoundError(`dashboard file ${url.pathname}`);
    sendAsset(req, res, asset);
    return undefined;
  };
  router.add('GET', '/', serve);
  router.add('GET', `${DASHBOARD_PREFIX}/:file`, serve);
  router.add('GET', `${DASHBOARD_PREFIX}/vendor/:file`, serve);
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: DashboardAsset): void {
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const etag = gzip ? asset.gzippedEtag : asset.etag;
  const headers = {
    etag,
    vary: 'accept-encoding',
    // Revalidate every time: a 304 costs one round trip, and an upgraded control plane never serves a stale page.
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CONTENT_SECURITY_POLICY,
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = gzip ? asset.gzipped : asset.body;
  res.writeHead(200, { ...headers, 'content-type': asset.contentType, 'content-length': body.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
  res.end(body);
}

/** "gzip" listed without q=0; enough for browsers and curl --compressed, which is who asks for these files. */
function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    return coding?.trim() === 'gzip' && !params.some((param) => /^\s*q=0(\.0*)?\s*$/.test(param));
  });
}
