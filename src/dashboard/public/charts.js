// Dashboard (browser): a service's uPlot charts — requests per second, success rate, p50/p99 latency — fed from the page's history.
import uPlot from './vendor/uPlot.esm.js';
import { h } from './dom.js';

const HEIGHT = 160;

/** Rates and latencies read against zero: uPlot's default range would blow a flat 4.9 rps up into a cliff. */
const FROM_ZERO = (_plot, _min, max) => [0, max > 0 ? max * 1.15 : 1];

const CHARTS = [
  { name: 'rps', title: 'Requests per second', range: FROM_ZERO, series: [{ label: 'RPS', key: 'rps', stroke: '#2b6cb0' }] },
  { name: 'success', title: 'Success rate (%)', range: [0, 100], series: [{ label: 'success %', key: 'success', stroke: '#1f8a4c' }] },
  {
    name: 'latency',
    title: 'Latency (ms)',
    range: FROM_ZERO,
    series: [
      { label: 'p50', key: 'p50', stroke: '#6b46c1' },
      { label: 'p99', key: 'p99', stroke: '#c05621' },
    ],
  },
];

export class ServiceCharts {
  constructor(container) {
    this.element = h('div', { class: 'charts' });
    container.append(this.element);
    this.charts = CHARTS.map((chart) => {
      const target = h('div', { class: 'chart card', 'data-chart': chart.name, 'data-points': 0 });
      this.element.append(target);
      const options = {
        title: chart.title,
        width: Math.max(300, target.clientWidth - 24),
        height: HEIGHT,
        scales: { x: { time: true }, y: { range: chart.range } },
        series: [{}, ...chart.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: false }))],
      };
      return { spec: chart, target, plot: new uPlot(options, [[], ...chart.series.map(() => [])], target) };
    });
  }

  /** history: { t, rps, success, p50, p99 } (arrays of the same length) or undefined before the first poll. */
  update(history) {
    for (const { spec, target, plot } of this.charts) {
      const data = history ? [history.t, ...spec.series.map((s) => history[s.key])] : [[], ...spec.series.map(() => [])];
      plot.setData(data);
      target.dataset.points = String(data[0].length);
    }
  }

  destroy() {
    for (const { plot } of this.charts) plot.destroy();
    this.element.remove();
  }
}
