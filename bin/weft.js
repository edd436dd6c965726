#!/usr/bin/env node
// Entry point of the `weft` command: runs the compiled CLI.
import { main } from '../dist/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`weft: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
