// CLI: `weft run -- CMD` starts a sidecar and the app together; the app learns its port and outbound URL from the environment.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { formatAddress } from '../../config/listen-address.js';
import { addProxyOptions, proxyConfigFromOptions, startSidecarFor, type ProxyCommandOptions } from '../proxy-options.js';

export function registerRunCommand(program: Command): void {
  addProxyOptions(program.command('run'))
    .description('start a sidecar and an app together: weft run --service NAME -- CMD ARGS...')
    .argument('<command...>', 'the app command and its arguments, after --')
    .action(async (commandLine: string[], options: ProxyCommandOptions, run: Command) => {
      const config = await proxyConfigFromOptions(options, run);
      const { createRuntime } = await import('../../telemetry/runtime.js');
      const runtime = createRuntime({ name: 'proxy', logLevel: config.logLevel });
      // Without --app-port the sidecar picks the app's port once its own listeners hold theirs, so it is never one of them.
      const sidecar = await startSidecarFor(run, config, runtime, { chooseAppPort: true });
      const [command, ...args] = commandLine as [string, ...string[]];
      const outboundUrl = `http://${formatAddress(sidecar.outbound)}`;
      const app = spawn(command, args, {
        stdio: 'inherit',
        env: {
          ...process.env,
          PORT: String(sidecar.appPort),
          WEFT_OUTBOUND: outboundUrl,
          WEFT_SERVICE: config.service,
          WEFT_INSTANCE_ID: sidecar.instanceId ?? '',
          WEFT_ADMIN: `http://${formatAddress(sidecar.admin)}`,
        },
      });
      runtime.logger.info({ command, args, port: sidecar.appPort, outbound: outboundUrl }, 'app started');

      let stopping: Promise<void> | undefined;
      const stopSidecar = () => (stopping ??= sidecar.stop());
      let signalled = false;
      const appRunning = () => app.exitCode === null && app.signalCode === null;
      const forward = (signal: NodeJS.Signals) => {
        if (signalled) {
          // A second signal is not for waiting: it reaches the app at once.
          if (appRunning()) app.kill(signal);
          return;
        }
        signalled = true;
        // Deregister first, and let peers see it, so that nobody is routed to an app that is shutting down.
        // Deregistration failing (the control plane is gone) must not keep the signal from the app.
        void sidecar
          .deregister()
          .catch(() => undefined)
          .then(() => {
            if (appRunning()) app.kill(signal);
          });
      };
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      process.on('SIGHUP', forward);

      const exitCode = await new Promise<number>((resolve) => {
        app.once('error', (error: NodeJS.ErrnoException) => {
          process.stderr.write(`weft run: cannot start "${command}": ${error.code === 'ENOENT' ? 'command not found' : error.message}\n`);
          resolve(127);
        });
        app.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
      });
      await stopSidecar();
      process.exit(exitCode);
    });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return (signal && numbers[signal]) ?? 1;
}
