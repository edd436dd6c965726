// Dashboard (browser): building DOM nodes and formatting numbers; text always goes in as text, never as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** h('td', { class: 'num' }, '12') — attributes set as attributes, children as nodes or text. */
export function h(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

export function svg(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export const formatRps = (rps) => (rps === undefined ? '–' : rps >= 100 ? rps.toFixed(0) : rps.toFixed(1));
export const formatRate = (rate) => (rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)}%`);
export const formatMs = (ms) => (ms === null || ms === undefined ? '–' : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

/** The page's link to a service's view (app.js routes it). */
export const serviceHref = (name) => `#/services/${encodeURIComponent(name)}`;

export function healthBadge(passing, critical) {
  const kind = critical === 0 ? 'passing' : passing === 0 ? 'critical' : 'mixed';
  return h('span', { class: `badge ${kind}`, 'data-health': kind }, `${passing}/${passing + critical}`);
}
