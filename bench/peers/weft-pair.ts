// Bench peer: weft-pair — a call between two meshed workloads: client sidecar → mTLS → server sidecar in front of the upstream.
import type { ManagedProcess } from '../../test/support/index.js';
import { freePorts, stopProcess } from '../../test/support/index.js';
import { awaitReady, runningPeer, type Contender } from './peer.js';
import { call, launchSidecar, put, startDevControl, weftCli } from './weft-control.js';

const SERVICE = 'bench-upstream';
const CLIENT_SERVICE = 'bench-client';

export const weftPair: Contender = {
  name: 'weft-pair',
  description:
    `client weft proxy (outbound listener, Host: ${SERVICE}) → mTLS (policy mtls: strict) → server weft proxy (inbound, the upstream as its app), ` +
    `on Node ${process.version}; certificates from a weft control --dev; both sidecars share the proxy's CPU`,
  async start(ctx) {
    const [controlPort, inboundPort, serverOutboundPort, serverAdminPort, outboundPort, adminPort] = await freePorts(6);
    const cli = weftCli(ctx.repoRoot);
    const control = await startDevControl(ctx, cli, controlPort);
    /** Stopped in this order on failure: the sidecars before the control plane they depend on. */
    const started: ManagedProcess[] = [control.proc];
    try {
      // --dev's mesh default is plaintext; the service's policy turns mTLS on, strict as a production mesh runs it.
      // Stored before any sidecar starts, so both read it in their first snapshot and never dial or listen in plaintext.
      await put(`${control.url}/api/v1/policies/${SERVICE}`, { service: SERVICE, mtls: 'strict' });

      // The server side registers itself (its inbound address) once it holds a certificate and the upstream answers its health check.
      // Its outbound listener is unused, but gets a free port rather than the default 15001 another run may hold.
      const server = launchSidecar(ctx, cli, 'weft proxy (server)', [
        '--service', SERVICE, '--app-port', String(ctx.upstreamPort), '--inbound', `127.0.0.1:${inboundPort}`,
        '--outbound', `127.0.0.1:${serverOutboundPort}`, '--admin', `127.0.0.1:${serverAdminPort}`, '--control', control.url,
      ]);
      started.unshift(server);
      const serverAdmin = `http://127.0.0.1:${serverAdminPort}`;
      await awaitReady(server, `${serverAdmin}/ready`);

      const client = launchSidecar(ctx, cli, 'weft proxy (client)', [
        '--service', CLIENT_SERVICE, '--outbound', `127.0.0.1:${outboundPort}`, '--admin', `127.0.0.1:${adminPort}`, '--control', control.url,
      ]);
      started.unshift(client);
      const clientAdmin = `http://127.0.0.1:${adminPort}`;
      await awaitReady(client, `${clientAdmin}/ready`);
      const url = `http://127.0.0.1:${outboundPort}/`;
      // Capitalised: wrk adds its own Host header unless one spelled exactly "Host" is given.
      const headers = { Host: SERVICE };
      // Ready once a request crosses both sidecars: the client's snapshot holds the server's registered instance.
      await awaitReady(client, url, headers);
      await proveMtls({ clientAdmin, serverAdmin, inbound: `http://127.0.0.1:${inboundPort}/` });
      return runningPeer(url, [client, server, control.proc], { headers, measured: [client, server] });
    } catch (error) {
      for (const proc of started) await stopProcess(proc, 'SIGKILL', 1_000);
      throw error;
    }
  },
};

/**
 * Refuses to measure a pair that is not talking mTLS: both sidecars hold a certificate, the server's inbound port
 * (strict) closes a plaintext request unanswered and counts it, and it has served inbound requests — which,
 * since it serves nothing in plaintext, came over mTLS.
 */
async function proveMtls(at: { clientAdmin: string; serverAdmin: string; inbound: string }): Promise<void> {
  for (const [side, admin] of [['client', at.clientAdmin], ['server', at.serverAdmin]] as const) {
    const certs = await call('GET', `${admin}/certs`);
    if (certs.status !== 200) throw new Error(`weft-pair: the ${side} sidecar holds no workload certificate: GET /certs -> ${certs.status} ${certs.body}`);
  }
  const plaintext = await call('GET', at.inbound).then(
    (reply) => `answered ${reply.status}`,
    () => undefined,
  );
  if (plaintext !== undefined) {
    throw new Error(`weft-pair: the server sidecar's inbound port ${plaintext} to a plaintext request: it is not mtls strict, and the pair would be measured without mTLS`);
  }
  const metrics = await call('GET', `${at.serverAdmin}/metrics`);
  const refused = sumOf(metrics.body, 'weft_proxy_mtls_plaintext_refused_total', '');
  const inbound = sumOf(metrics.body, 'weft_proxy_requests_total', 'direction="inbound"');
  if (!(refused >= 1 && inbound >= 1)) {
    throw new Error(`weft-pair: the server sidecar counts ${inbound} inbound requests and ${refused} refused plaintext connections; expected at least 1 of each`);
  }
}

/** Sum of a metric's samples (Prometheus text) whose labels contain `labels`; NaN when it has none. */
function sumOf(text: string, name: string, labels: string): number {
  let sum = Number.NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !(line[name.length] === '{' || line[name.length] === ' ') || !line.includes(labels)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (Number.isNaN(sum) ? 0 : sum) + value;
  }
  return sum;
}
