// CLI: the control-plane URL for client commands: --control, else WEFT_CONTROL, else the default.
import type { Command } from 'commander';
import { PROXY_DEFAULTS } from '../config/index.js';
import { urlFlag } from './flag-parsers.js';

export interface ControlUrlOptions {
  control?: string;
}

export function controlUrlOption(command: Command): Command {
  return command.option('--control <url>', `control-plane URL (default: $WEFT_CONTROL or ${PROXY_DEFAULTS.control})`, urlFlag);
}

export function controlUrl(options: ControlUrlOptions): string {
  const fromEnv = process.env.WEFT_CONTROL;
  return options.control ?? (fromEnv ? urlFlag(fromEnv) : PROXY_DEFAULTS.control);
}
