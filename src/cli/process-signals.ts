// CLI: runs a shutdown once on the first SIGINT/SIGTERM, and exits at once on a second one.

export function onShutdownSignal(shutdown: (signal: NodeJS.Signals) => Promise<void> | void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    Promise.resolve(shutdown(signal)).catch((error: unknown) => {
      process.stderr.write(`weft: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
