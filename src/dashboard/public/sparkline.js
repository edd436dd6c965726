// Dashboard (browser): a tiny SVG line of recent values for a table row; a polyline is all a row needs.
import { svg } from './dom.js';

const WIDTH = 120;
const HEIGHT = 24;

export function sparkline(values = []) {
  const points = values.filter((value) => value !== null);
  const top = Math.max(...points, 1e-9);
  const step = points.length > 1 ? WIDTH / (points.length - 1) : 0;
  const coordinates = points.map((value, i) => `${(i * step).toFixed(1)},${(HEIGHT - 1 - (value / top) * (HEIGHT - 2)).toFixed(1)}`);
  return svg(
    'svg',
    { class: 'spark', width: WIDTH, height: HEIGHT, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, 'data-points': points.length },
    svg('polyline', { points: coordinates.join(' ') }),
  );
}
