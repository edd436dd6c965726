// CLI: how client commands reach the control plane: --control, else WEFT_CONTROL, else the default (several URLs mean replicas), and the token they show it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONTROL_URL, parseControlUrlList } from '../config/urls.js';
import { ConfigError } from '../core/index.js';
import type { ControlClient } from '../workload/control-client.js';
import { controlUrlsFlag } from './flag-parsers.js';

export interface ControlUrlOptions {
  control?: readonly string[];
  token?: string;
}

export const CONTROL_FLAG_HELP = `control-plane URL, or comma-separated URLs of its replicas (default: $WEFT_CONTROL or ${DEFAULT_CONTROL_URL})`;
export const TOKEN_FLAG_HELP = 'API token (default: $WEFT_TOKEN, else .weft/data/admin.token when this user can read it)';

/** Where `weft control` writes the admin token it makes on first start, under its default data dir. */
export const DEFAULT_ADMIN_TOKEN_FILE = join('.weft', 'data', 'admin.token');

export function controlUrlOption(command: Command): Command {
  return command.option('--control <urls>', CONTROL_FLAG_HELP, controlUrlsFlag).option('--token <token>', TOKEN_FLAG_HELP);
}

export function controlUrls(options: ControlUrlOptions): readonly string[] {
  if (options.control) return options.control;
  const fromEnv = process.env.WEFT_CONTROL;
  if (!fromEnv) return [DEFAULT_CONTROL_URL];
  const parsed = parseControlUrlList(fromEnv);
  if (typeof parsed === 'string') throw new ConfigError('WEFT_CONTROL', '', parsed);
  return parsed;
}

/**
 * --token, else WEFT_TOKEN, else the admin token of a control plane started here with the default data
 * dir (so that commands on the control plane's own machine need no setup); undefined when there is none.
 */
export function controlToken(options: ControlUrlOptions): string | undefined {
  const given = (options.token ?? process.env.WEFT_TOKEN ?? '').trim();
  if (given !== '') return given;
  try {
    const fromFile = readFileSync(DEFAULT_ADMIN_TOKEN_FILE, 'utf8').trim();
    return fromFile === '' ? undefined : fromFile;
  } catch {
    return undefined;
  }
}

/** A client of the control plane for a CLI command, with its URLs and token. */
export async function controlClient(options: ControlUrlOptions): Promise<ControlClient> {
  const token = controlToken(options);
  const url = controlUrls(options);
  // Loaded here, not with the CLI: the client brings the whole API model, zod included, which `--help` never needs.
  const client = await import('../workload/control-client.js');
  return new client.ControlClient({ url, ...(token === undefined ? {} : { credentials: client.bearerCredentials(token) }) });
}
