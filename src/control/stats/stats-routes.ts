// Control stats: GET /api/v1/stats (golden metrics per service or instance) and GET /api/v1/topology (per caller and callee), over a window.
import { ValidationError } from '../../core/index.js';
import { API_PREFIX, SERVICE_NAME } from '../../model/index.js';
import type { Router } from '../http/index.js';
import { parseWindow, type StatsCollector } from './stats-collector.js';

export function addStatsRoutes(router: Router, collector: StatsCollector): void {
  router.add('GET', `${API_PREFIX}/stats`, async ({ url }) => {
    const windowSeconds = parseWindow(url.searchParams.get('window'));
    const service = url.searchParams.get('service') ?? undefined;
    if (service !== undefined && !SERVICE_NAME.test(service)) throw new ValidationError('service', 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters');
    const by = url.searchParams.get('by') ?? 'service';
    if (by !== 'service' && by !== 'instance') throw new ValidationError('by', `expected "service" or "instance", got "${by}"`);
    const reply = await collector.stats({ windowSeconds, ...(service === undefined ? {} : { service }), byInstance: by === 'instance' });
    return { status: 200, body: reply };
  });
  router.add('GET', `${API_PREFIX}/topology`, async ({ url }) => {
    const reply = await collector.topology(parseWindow(url.searchParams.get('window')));
    return { status: 200, body: reply };
  });
}
