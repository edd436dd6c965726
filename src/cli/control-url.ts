// CLI: the control-plane URLs for client commands: --control, else WEFT_CONTROL, else the default; several mean replicas.
import type { Command } from 'commander';
import { PROXY_DEFAULTS, parseControlUrlList } from '../config/index.js';
import { ConfigError } from '../core/index.js';
import { controlUrlsFlag } from './flag-parsers.js';

export interface ControlUrlOptions {
  control?: readonly string[];
}

export const CONTROL_FLAG_HELP = `control-plane URL, or comma-separated URLs of its replicas (default: $WEFT_CONTROL or ${PROXY_DEFAULTS.control})`;

export function controlUrlOption(command: Command): Command {
  return command.option('--control <urls>', CONTROL_FLAG_HELP, controlUrlsFlag);
}

export function controlUrls(options: ControlUrlOptions): readonly string[] {
  if (options.control) return options.control;
  const fromEnv = process.env.WEFT_CONTROL;
  if (!fromEnv) return [PROXY_DEFAULTS.control];
  const parsed = parseControlUrlList(fromEnv);
  if (typeof parsed === 'string') throw new ConfigError('WEFT_CONTROL', '', parsed);
  return parsed;
}
