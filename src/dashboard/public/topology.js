// Dashboard (browser): who calls whom, drawn as SVG in layers — callers on the left, the services they call to their right.
import { formatMs, formatRate, formatRps, serviceHref, svg } from './dom.js';

const NODE_WIDTH = 140;
const NODE_HEIGHT = 36;
/** Room between columns for an arrow's two lines of numbers. */
const COLUMN_GAP = 200;
const ROW_GAP = 44;
const MARGIN = 20;
/** Above the first row: room for the labels of arrows between top boxes and for calls that loop back. */
const TOP = 56;

/**
 * A service's layer is the length of the longest chain of callers in front of it. Cycles would make that
 * endless, so relaxation stops after as many rounds as there are services (every chain is at most that long).
 */
export function layoutTopology(names, edges) {
  const layer = new Map(names.map((name) => [name, 0]));
  for (let round = 0; round < names.length; round++) {
    let moved = false;
    for (const edge of edges) {
      if (edge.source === edge.destination) continue;
      const next = Math.min(layer.get(edge.source) + 1, names.length - 1);
      if (layer.get(edge.destination) < next) {
        layer.set(edge.destination, next);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const columns = [];
  for (const name of names) (columns[layer.get(name)] ??= []).push(name);
  const positions = new Map();
  columns.forEach((column = [], x) =>
    column.sort().forEach((name, y) =>
      positions.set(name, { x: MARGIN + x * (NODE_WIDTH + COLUMN_GAP), y: TOP + y * (NODE_HEIGHT + ROW_GAP) }),
    ),
  );
  const rows = Math.max(1, ...columns.map((column = []) => column.length));
  return {
    positions,
    width: MARGIN * 2 + Math.max(1, columns.length) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP,
    height: TOP + MARGIN + rows * (NODE_HEIGHT + ROW_GAP) - ROW_GAP,
  };
}

function edgeClass(rate) {
  if (rate === null || rate >= 0.99) return 'ok';
  return rate >= 0.9 ? 'degraded' : 'failing';
}

/** services: [{ name, passing, critical }] from the registry; edges: the topology API's edges. */
export function topologySvg(services, edges) {
  const names = [...new Set([...services.map((s) => s.name), ...edges.flatMap((e) => [e.source, e.destination])])].sort();
  const { positions, width, height } = layoutTopology(names, edges);
  const health = new Map(services.map((s) => [s.name, s]));
  const root = svg('svg', { class: 'topology', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'service topology' });
  root.append(
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto' },
      svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8794a3' }))),
  );
  for (const edge of edges) {
    const from = positions.get(edge.source);
    const to = positions.get(edge.destination);
    const x1 = from.x + NODE_WIDTH;
    const y1 = from.y + NODE_HEIGHT / 2;
    const x2 = to.x;
    const y2 = to.y + NODE_HEIGHT / 2;
    // A call to a service in the same or an earlier column loops around above the boxes instead of crossing them.
    const d = x2 > x1
      ? `M ${x1} ${y1} C ${(x1 + x2) / 2} ${y1}, ${(x1 + x2) / 2} ${y2}, ${x2} ${y2}`
      : `M ${x1} ${y1} C ${x1 + 60} ${y1 - 70}, ${x2 - 60} ${y2 - 70}, ${x2} ${y2}`;
    const rates = `${formatRps(edge.rps)} rps · ${formatRate(edge.successRate)}`;
    const latency = `p50 ${formatMs(edge.latencyMs?.p50)} · p99 ${formatMs(edge.latencyMs?.p99)}`;
    const labelX = (x1 + x2) / 2;
    const labelY = Math.min(y1, y2) - (x2 > x1 ? 22 : 48);
    root.append(
      svg('g', { class: `edge ${edgeClass(edge.successRate)}`, 'data-edge': `${edge.source}->${edge.destination}` },
        svg('path', { d, 'marker-end': 'url(#arrow)' }),
        svg('title', {}, `${edge.source} → ${edge.destination}: ${edge.requests} requests in the window, ${rates}, ${latency}`),
        svg('text', { x: labelX, y: labelY, 'text-anchor': 'middle' },
          svg('tspan', { x: labelX, dy: 0 }, rates),
          svg('tspan', { x: labelX, dy: 13 }, latency))),
    );
  }
  for (const name of names) {
    const { x, y } = positions.get(name);
    const service = health.get(name);
    const critical = service !== undefined && service.critical > 0;
    root.append(
      svg('a', { href: serviceHref(name) },
        svg('g', { class: `node${critical ? ' critical' : ''}`, 'data-node': name },
          svg('rect', { x, y, width: NODE_WIDTH, height: NODE_HEIGHT }),
          svg('text', { x: x + 10, y: y + 23 }, service ? `${name} (${service.passing}/${service.passing + service.critical})` : name))),
    );
  }
  return root;
}
