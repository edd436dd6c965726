// Control auth: the access class of a request — open (no credentials), read (GET/HEAD), mutate (everything else).
import { apiPaths } from '../../model/index.js';

/**
 * - `open`: health, metrics, the mesh's public facts and the dashboard's static files; credentials are ignored.
 * - `read`: every other GET/HEAD; needs a valid principal unless the control plane runs with `openRead`.
 * - `mutate`: every other method; needs an admin or service principal, then the route checks what it may do.
 */
export type AccessClass = 'open' | 'read' | 'mutate';

const OPEN_PATHS = new Set(['/', '/healthz', '/metrics', apiPaths.mesh(), apiPaths.trustBundle()]);
const DASHBOARD_PREFIX = '/dashboard/';

export function accessClass(method: string, pathname: string): AccessClass {
  const reading = method === 'GET' || method === 'HEAD';
  if (!reading) return 'mutate';
  return OPEN_PATHS.has(pathname) || pathname.startsWith(DASHBOARD_PREFIX) ? 'open' : 'read';
}
