// Dashboard (browser): the page's entry — follows the registry's watch stream, polls stats and topology every 2 s, routes by URL hash.
import { followWatch, getJson, HttpError } from './api.js';
import { CertificatesView } from './certificates-view.js';
import { MeshState } from './mesh-state.js';
import { StatsHistory } from './stats-history.js';
import { PoliciesView, ServicesView, ServiceView, TopologyView } from './views.js';

const POLL_INTERVAL_MS = 2000;
const WINDOW = '10s';

const state = {
  mesh: new MeshState(),
  history: new StatsHistory(),
  /** state: 'loading' | 'ok' | 'missing' (the control plane has no topology API) | 'error'. */
  topology: { state: 'loading' },
  stats: { ok: false, at: 0, error: undefined },
  watch: 'connecting',
  /** state: 'loading' | 'ok' (ca, list, at) | 'error'. */
  certificates: { state: 'loading' },
};

const root = document.getElementById('view');
const status = document.getElementById('status');
let view;
let routeKey;

function route() {
  const path = location.hash.replace(/^#/, '') || '/';
  const service = serviceName(/^\/services\/([^/]+)$/.exec(path)?.[1]);
  if (service !== undefined) return { key: `service:${service}`, nav: 'services', make: () => new ServiceView(root, service) };
  if (path === '/topology') return { key: 'topology', nav: 'topology', make: () => new TopologyView(root) };
  if (path === '/policies') return { key: 'policies', nav: 'policies', make: () => new PoliciesView(root) };
  if (path === '/certificates') return { key: 'certificates', nav: 'certificates', make: () => new CertificatesView(root) };
  return { key: 'services', nav: 'services', make: () => new ServicesView(root) };
}

/** A hand-typed "#/services/%zz" is no service, not an exception. */
function serviceName(encoded) {
  if (encoded === undefined) return undefined;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

function navigate() {
  const next = route();
  if (next.key === routeKey) return;
  view?.destroy();
  routeKey = next.key;
  view = next.make();
  for (const link of document.querySelectorAll('[data-nav]')) link.classList.toggle('active', link.dataset.nav === next.nav);
  render();
}

let renderQueued = false;
/** Many watch events can arrive in one burst (a reset, a restart of several sidecars): draw once per frame. */
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  view?.update(state);
  const stats = state.stats.error ? `stats unavailable (${state.stats.error})` : state.stats.ok ? `stats ${new Date(state.stats.at).toLocaleTimeString()}` : 'stats…';
  status.textContent = `registry ${state.watch === 'live' ? 'live' : 'reconnecting…'} · v${state.mesh.version} · ${stats}`;
  status.classList.toggle('down', state.watch !== 'live' || Boolean(state.stats.error));
}

async function pollStats() {
  const at = Date.now();
  try {
    const [byService, byInstance] = await Promise.all([getJson(`/api/v1/stats?window=${WINDOW}`), getJson(`/api/v1/stats?window=${WINDOW}&by=instance`)]);
    state.history.record(byService, at);
    state.history.record(byInstance, at);
    state.stats = { ok: true, at, error: undefined };
  } catch (error) {
    state.stats = { ok: false, at, error: error.message };
  }
}

async function pollTopology() {
  try {
    state.topology = { state: 'ok', reply: await getJson(`/api/v1/topology?window=${WINDOW}`) };
  } catch (error) {
    state.topology = error instanceof HttpError && error.status === 404 ? { state: 'missing' } : { state: 'error', error: error.message };
  }
}

async function pollCertificates() {
  try {
    const [ca, reply] = await Promise.all([getJson('/api/v1/ca'), getJson('/api/v1/certificates')]);
    state.certificates = { state: 'ok', ca, list: reply.certificates, at: Date.now() };
  } catch (error) {
    state.certificates = { state: 'error', error: error.message };
  }
}

/** One round after another, never overlapping: a slow control plane gets fewer requests, not a pile of them. */
async function poll() {
  await Promise.all([pollStats(), pollTopology(), pollCertificates()]);
  scheduleRender();
  setTimeout(poll, POLL_INTERVAL_MS);
}

followWatch(
  (event) => {
    if (state.mesh.apply(event)) scheduleRender();
  },
  (watch) => {
    state.watch = watch;
    scheduleRender();
  },
);
window.addEventListener('hashchange', navigate);
navigate();
void poll();
