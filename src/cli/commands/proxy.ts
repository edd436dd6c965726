// CLI: `weft proxy` runs a sidecar until a signal stops it; then it deregisters and drains.
import type { Command } from 'commander';
import { formatAddress } from '../../config/listen-address.js';
import { addProxyOptions, proxyConfigFromOptions, startSidecarFor, type ProxyCommandOptions } from '../proxy-options.js';
import { onShutdownSignal } from '../process-signals.js';

export function registerProxyCommand(program: Command): void {
  addProxyOptions(program.command('proxy'))
    .description('run a sidecar: outbound listener for the app, inbound listener in front of it, admin listener')
    .action(async (options: ProxyCommandOptions, command: Command) => {
      const config = await proxyConfigFromOptions(options, command);
      const { createRuntime } = await import('../../telemetry/runtime.js');
      const runtime = createRuntime({ name: 'proxy', logLevel: config.logLevel });
      const sidecar = await startSidecarFor(command, config, runtime);
      const inbound = sidecar.inbound ? `, inbound ${formatAddress(sidecar.inbound)} -> app :${config.appPort}` : ' (outbound only)';
      const upstreams = Object.entries(sidecar.tcpUpstreams).map(([service, address]) => `, tcp upstream ${service} ${formatAddress(address)}`).join('');
      process.stdout.write(
        `weft proxy for ${config.service}: outbound ${formatAddress(sidecar.outbound)}${inbound}, admin ${formatAddress(sidecar.admin)}${upstreams}\n`,
      );
      onShutdownSignal(async (signal) => {
        runtime.logger.info({ signal }, 'shutting down: deregistering and draining');
        await sidecar.stop();
        process.exit(0);
      });
    });
}
