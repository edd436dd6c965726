// Dashboard (browser): certificates — the CA's phase and roots, and the certificate each sidecar holds with how long it has left.
import { h } from './dom.js';

/** 'ok', 'renewing' (past 2/3 of its life: the sidecar should have renewed) or 'expired'. */
export function certificateState(cert, now) {
  const notBefore = Date.parse(cert.notBefore);
  const notAfter = Date.parse(cert.notAfter);
  if (notAfter <= now) return 'expired';
  return notAfter - now < (notAfter - notBefore) / 3 ? 'renewing' : 'ok';
}

const BADGE = { ok: 'passing', renewing: 'mixed', expired: 'critical' };

function span(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}

function expiryCell(cert, now) {
  const left = Date.parse(cert.notAfter) - now;
  const state = certificateState(cert, now);
  return h('td', { 'data-expiry': state, title: cert.notAfter },
    h('span', { class: `badge ${BADGE[state]}` }, state), ` ${left > 0 ? `in ${span(left)}` : `${span(left)} ago`}`);
}

/** The rows of `certificates`, for the certificates page and for one service's page. */
export function certificateTable(certificates, now, { withService }) {
  const headings = [...(withService ? ['Service'] : []), 'Sidecar', 'Instance', 'Serial', 'Signed by', 'Expires'];
  return h('table', {},
    h('thead', {}, h('tr', {}, headings.map((text) => h('th', {}, text)))),
    h('tbody', {}, certificates.map((cert) => h('tr', { 'data-certificate': cert.sidecar },
      withService ? h('td', {}, cert.service) : null,
      h('td', {}, cert.sidecar),
      h('td', {}, cert.instance ?? '–'),
      h('td', { class: 'meta' }, cert.serial),
      h('td', { class: 'meta', title: cert.signedBy }, cert.signedBy.slice(0, 12)),
      expiryCell(cert, now)))));
}

export class CertificatesView {
  constructor(root) {
    this.authority = h('div', { class: 'card' });
    this.body = h('div', { class: 'card' });
    root.replaceChildren(h('h1', {}, 'Certificates'), h('h2', {}, 'Certificate authority'), this.authority, h('h2', {}, 'Sidecars'), this.body);
  }

  update({ certificates }) {
    if (certificates.state !== 'ok') {
      const text = certificates.state === 'loading' ? 'Loading…' : `Certificates are not available (${certificates.error ?? 'no CA'}).`;
      this.authority.replaceChildren(h('p', { class: 'empty' }, text));
      this.body.replaceChildren();
      return;
    }
    const { ca, list, at } = certificates;
    this.authority.replaceChildren(
      h('p', { 'data-ca-phase': ca.phase }, `Trust domain ${ca.trustDomain} · ${ca.source} CA · phase ${ca.phase}${ca.phaseSince ? ` since ${new Date(ca.phaseSince).toLocaleString()}` : ''}`),
      h('table', {},
        h('thead', {}, h('tr', {}, ['Root', 'Signing', 'Subject', 'Expires'].map((text) => h('th', {}, text)))),
        h('tbody', {}, ca.authorities.map((a) => h('tr', { 'data-authority': a.id },
          h('td', { class: 'meta', title: a.fingerprintSha256 }, a.id.slice(0, 12)),
          h('td', {}, a.signing ? 'yes' : 'no'),
          h('td', {}, a.subject),
          expiryCell(a, at))))),
    );
    this.body.replaceChildren(list.length === 0 ? h('p', { class: 'empty' }, 'No sidecar holds a certificate yet.') : certificateTable(list, at, { withService: true }));
  }

  destroy() {}
}
