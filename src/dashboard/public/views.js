// Dashboard (browser): the four views — services, one service, topology, policies — each mounted once and updated in place.
import { certificateTable } from './certificates-view.js';
import { ServiceCharts } from './charts.js';
import { formatMs, formatRate, formatRps, h, healthBadge, serviceHref } from './dom.js';
import { sparkline } from './sparkline.js';
import { instanceKey, serviceKey } from './stats-history.js';
import { topologySvg } from './topology.js';

function statsCells(row) {
  return [
    h('td', { class: 'num', 'data-stat': 'rps' }, formatRps(row?.rps)),
    h('td', { class: 'num', 'data-stat': 'success' }, formatRate(row?.successRate)),
    h('td', { class: 'num', 'data-stat': 'p50' }, formatMs(row?.latencyMs.p50)),
    h('td', { class: 'num', 'data-stat': 'p99' }, formatMs(row?.latencyMs.p99)),
    h('td', { class: 'num', 'data-stat': 'tcp' }, row?.tcpConnections ?? '–'),
  ];
}

const STATS_HEADINGS = ['RPS', 'Success', 'p50', 'p99', 'TCP conns'];

/** An instance whose sidecar could not be scraped says why instead of drawing a line that just stopped. */
function skippedOrSparkline(history, key) {
  const reason = history.skippedReason(key);
  return reason === undefined ? sparkline(history.get(key)?.rps) : h('span', { class: 'muted', 'data-skipped': reason }, reason);
}

function table(headings, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, headings.map((text) => h('th', {}, text)))), h('tbody', {}, rows));
}

function emptyUntilLoaded(mesh, what) {
  return h('p', { class: 'empty' }, mesh.loaded ? what : 'Waiting for the registry…');
}

export class ServicesView {
  constructor(root) {
    this.body = h('div', { class: 'card' });
    root.replaceChildren(h('h1', {}, 'Services'), this.body);
  }

  update({ mesh, history }) {
    const services = mesh.services();
    if (services.length === 0) {
      this.body.replaceChildren(emptyUntilLoaded(mesh, 'No services are registered.'));
      return;
    }
    this.body.replaceChildren(
      table(['Service', 'Instances', ...STATS_HEADINGS, 'RPS, last 5 min'], services.map((service) => {
        const key = serviceKey(service.name);
        return h('tr', { 'data-service': service.name },
          h('td', {}, h('a', { href: serviceHref(service.name) }, service.name)),
          h('td', {}, healthBadge(service.passing, service.critical)),
          statsCells(history.row(key)),
          h('td', {}, sparkline(history.get(key)?.rps)));
      })),
    );
  }

  destroy() {}
}

/** "called by frontend (4.9 rps, 100%) · calls billing (…)" from the topology's edges; nothing without them. */
function neighbours(name, topology) {
  if (topology.state !== 'ok') return [];
  const link = (other, edge) => [h('a', { href: serviceHref(other), 'data-neighbour': other }, other), ` (${formatRps(edge.rps)} rps, ${formatRate(edge.successRate)})`];
  const list = (edges, other) => edges.flatMap((edge, i) => [i > 0 ? ', ' : '', ...link(other(edge), edge)]);
  const callers = topology.reply.edges.filter((edge) => edge.destination === name);
  const callees = topology.reply.edges.filter((edge) => edge.source === name);
  if (callers.length === 0 && callees.length === 0) return [`No calls to or from other services in the last ${topology.reply.windowSeconds} s.`];
  return [
    ...(callers.length > 0 ? ['called by ', ...list(callers, (edge) => edge.source)] : []),
    callers.length > 0 && callees.length > 0 ? ' · ' : '',
    ...(callees.length > 0 ? ['calls ', ...list(callees, (edge) => edge.destination)] : []),
  ];
}

export class ServiceView {
  constructor(root, name) {
    this.name = name;
    this.summary = h('p', { class: 'muted' });
    this.traffic = h('p', { class: 'muted', 'data-traffic': name });
    this.instances = h('div', { class: 'card' });
    this.policy = h('div', { class: 'card' });
    this.certificates = h('div', { class: 'card' });
    const charts = h('div');
    root.replaceChildren(
      h('p', {}, h('a', { href: '#/' }, '← all services')),
      h('h1', {}, name),
      this.summary,
      this.traffic,
      charts,
      h('h2', {}, 'Instances'),
      this.instances,
      h('h2', {}, 'Policy'),
      this.policy,
      h('h2', {}, 'Certificates'),
      this.certificates,
    );
    this.charts = new ServiceCharts(charts);
  }

  update({ mesh, history, topology, certificates }) {
    const service = mesh.service(this.name);
    const held = certificates.state === 'ok' ? certificates.list.filter((cert) => cert.service === this.name) : [];
    this.certificates.replaceChildren(held.length > 0
      ? certificateTable(held, certificates.at, { withService: false })
      : h('p', { class: 'empty' }, certificates.state === 'ok' ? `No sidecar of ${this.name} holds a certificate.` : 'Certificates are not available.'));
    this.traffic.replaceChildren(...neighbours(this.name, topology));
    const row = history.row(serviceKey(this.name));
    this.summary.replaceChildren(
      service ? healthBadge(service.passing, service.critical) : h('span', { class: 'badge critical' }, 'not registered'),
      ` ${formatRps(row?.rps)} rps · success ${formatRate(row?.successRate)} · p50 ${formatMs(row?.latencyMs.p50)} · p95 ${formatMs(row?.latencyMs.p95)} · p99 ${formatMs(row?.latencyMs.p99)} over the last 10 s`,
    );
    this.charts.update(history.get(serviceKey(this.name)));
    this.instances.replaceChildren(
      !service
        ? emptyUntilLoaded(mesh, `No instance of ${this.name} is registered.`)
        : table(['Instance', 'Health', 'Address', 'Weight', 'TTL', 'Meta', ...STATS_HEADINGS, 'RPS, last 5 min'], service.instances.map((instance) => {
          const key = instanceKey(this.name, instance.id);
          return h('tr', { 'data-instance': instance.id },
            h('td', {}, instance.id),
            h('td', {}, h('span', { class: `badge ${instance.health}`, 'data-health': instance.health, title: instance.healthReason ?? '' }, instance.health),
              instance.healthReason ? h('span', { class: 'muted' }, ` ${instance.healthReason}`) : null),
            h('td', {}, `${instance.host}:${instance.port}`),
            h('td', { class: 'num' }, instance.weight),
            h('td', { class: 'num' }, `${instance.ttlMs / 1000} s`),
            h('td', { class: 'meta' }, Object.entries(instance.meta).map(([k, v]) => `${k}=${v}`).join(' ')),
            statsCells(history.row(key)),
            h('td', {}, skippedOrSparkline(history, key)));
        })),
    );
    const policy = mesh.policies.get(this.name);
    this.policy.replaceChildren(policy ? h('pre', { 'data-policy': this.name }, JSON.stringify(policy, null, 2)) : h('p', { class: 'empty' }, 'No policy: the defaults apply.'));
  }

  destroy() {
    this.charts.destroy();
  }
}

export class TopologyView {
  constructor(root) {
    this.body = h('div', { class: 'card' });
    this.caption = h('p', { class: 'muted' });
    root.replaceChildren(h('h1', {}, 'Topology'), this.caption, this.body);
  }

  update({ mesh, topology }) {
    const services = mesh.services();
    if (topology.state === 'missing') {
      this.caption.textContent = 'No traffic data: this control plane does not report who calls whom (no /api/v1/topology).';
    } else if (topology.state === 'error') {
      this.caption.textContent = `No traffic data: ${topology.error}`;
    } else if (topology.state === 'loading') {
      this.caption.textContent = 'Loading traffic data…';
    } else {
      this.caption.textContent = topology.reply.edges.length === 0
        ? `No traffic data: no calls between services in the last ${topology.reply.windowSeconds} s.`
        : `Calls between services over the last ${topology.reply.windowSeconds} s, measured by the callers' sidecars.`;
    }
    this.body.dataset.state = topology.state;
    const edges = topology.state === 'ok' ? topology.reply.edges : [];
    this.body.replaceChildren(services.length === 0 && edges.length === 0 ? emptyUntilLoaded(mesh, 'No services are registered.') : topologySvg(services, edges));
  }

  destroy() {}
}

export class PoliciesView {
  constructor(root) {
    this.body = h('div', { class: 'card' });
    root.replaceChildren(h('h1', {}, 'Policies'), this.body);
  }

  update({ mesh }) {
    const policies = [...mesh.policies.values()].sort((a, b) => a.service.localeCompare(b.service));
    if (policies.length === 0) {
      this.body.replaceChildren(emptyUntilLoaded(mesh, 'No policies: every service uses the defaults. Set one with `weft apply -f policy.yaml`.'));
      return;
    }
    this.body.replaceChildren(
      table(['Service', 'Load balancer', 'Timeout', 'Retries', 'Routes', 'Definition'], policies.map((policy) =>
        h('tr', { 'data-policy': policy.service },
          h('td', {}, h('a', { href: serviceHref(policy.service) }, policy.service)),
          h('td', {}, policy.loadBalancer.algorithm),
          h('td', { class: 'num' }, `${policy.timeout.requestMs} ms`),
          h('td', { class: 'num' }, `${policy.retry.attempts} attempts`),
          h('td', { class: 'num' }, policy.routes.length),
          h('td', {}, h('details', {}, h('summary', {}, 'show'), h('pre', {}, JSON.stringify(policy, null, 2))))))),
    );
  }

  destroy() {}
}
