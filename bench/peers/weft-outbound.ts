// Bench peers: what the single-sidecar weft contenders share — a dev control plane with one upstream instance registered and kept alive, and an outbound-only `weft proxy` calling it.
import { freePorts, stopProcess, type ManagedProcess } from '../../test/support/index.js';
import type { PeerContext } from './peer.js';
import { launchSidecar, put, startDevControl } from './weft-control.js';

/** Long enough that a slow heartbeat on a loaded machine never lets the instance lapse mid-run. */
const TTL_MS = 60_000;
const HEARTBEAT_MS = 5_000;

export interface BenchInstance {
  id: string;
  service: string;
  /** On 127.0.0.1. */
  port: number;
  /** What the sidecar dials it with; left out of the registration when absent (the instance speaks http1). */
  protocol?: 'http1' | 'http2' | 'tcp';
}

export interface OutboundSidecar {
  proxy: ManagedProcess;
  control: ManagedProcess;
  /** http://127.0.0.1:<outbound port>/ */
  outboundUrl: string;
  /** The spare port handed to `argsWithPort`, if one was asked for. */
  sparePort: number | undefined;
  stopHeartbeat(): void;
  /** After a failed readiness check (which stops the sidecar itself): stops the renewals and the control plane. */
  abandon(): Promise<void>;
}

/**
 * Starts `weft control --dev`, registers `instance` through the REST API and renews it, then launches
 * `weft proxy --service bench-client` (outbound listener only), with the arguments `argsWithPort` makes of one
 * more free port (taken with the others, so it is none of theirs). Readiness is the caller's: it depends on
 * what the contender forwards.
 */
export async function startOutboundSidecar(
  ctx: PeerContext,
  cli: string,
  instance: BenchInstance,
  argsWithPort?: (port: number) => readonly string[],
): Promise<OutboundSidecar> {
  const [controlPort, outboundPort, adminPort, sparePort] = await freePorts(argsWithPort === undefined ? 3 : 4);
  const extraArgs = argsWithPort === undefined || sparePort === undefined ? [] : argsWithPort(sparePort);
  const { proc: control, url: controlUrl } = await startDevControl(ctx, cli, controlPort);

  const body = { service: instance.service, host: '127.0.0.1', port: instance.port, ttlMs: TTL_MS, ...(instance.protocol === undefined ? {} : { protocol: instance.protocol }) };
  const register = (): Promise<void> => put(`${controlUrl}/api/v1/instances/${instance.id}`, body);
  try {
    await register();
  } catch (error) {
    await stopProcess(control, 'SIGKILL', 1_000);
    throw error;
  }
  // Renew the lease; re-register if the control plane forgot it (it runs in memory).
  const heartbeat = setInterval(() => {
    put(`${controlUrl}/api/v1/instances/${instance.id}/heartbeat`, {}).catch(() => register().catch(() => undefined));
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const proxy = launchSidecar(ctx, cli, 'weft proxy', [
    '--service', 'bench-client', '--outbound', `127.0.0.1:${outboundPort}`, '--admin', `127.0.0.1:${adminPort}`, '--control', controlUrl, ...extraArgs,
  ]);
  return {
    proxy,
    control,
    outboundUrl: `http://127.0.0.1:${outboundPort}/`,
    sparePort,
    stopHeartbeat: () => clearInterval(heartbeat),
    async abandon() {
      clearInterval(heartbeat);
      await stopProcess(control, 'SIGKILL', 1_000);
    },
  };
}
