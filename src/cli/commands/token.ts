// CLI: `weft token create|list|revoke` — API tokens, made and managed with the admin token.
import type { Command } from 'commander';
import { ValidationError } from '../../core/index.js';
import type { TokenCreateRequest, TokenInfo } from '../../model/index.js';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { durationFlag, serviceFlag } from '../flag-parsers.js';
import { renderTable } from '../table.js';

interface CreateOptions extends ControlUrlOptions {
  service?: string;
  admin?: boolean;
  ttl?: number;
  description?: string;
}

export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('create, list and revoke API tokens (needs the admin token)');

  controlUrlOption(token.command('create'))
    .description('create a token and print only it: a join token for one service (--service), or an admin token (--admin)')
    .option('--service <name>', 'the service the token may act for (registration, heartbeats, its certificate)', serviceFlag)
    .option('--admin', 'an admin token: may do everything')
    .option('--ttl <duration>', 'lifetime: 90s, 30m, 24h, 7d (default: 24h for join tokens, none for admin tokens)', durationFlag)
    .option('--description <text>', 'a note shown by weft token list')
    .action(async (options: CreateOptions) => {
      if ((options.service === undefined) === !options.admin) throw new ValidationError('', 'give either --service NAME (a join token) or --admin');
      const request: TokenCreateRequest = {
        kind: options.admin ? 'admin' : 'join',
        ...(options.service === undefined ? {} : { service: options.service }),
        ...(options.ttl === undefined ? {} : { ttlMs: options.ttl }),
        ...(options.description === undefined ? {} : { description: options.description }),
      };
      const client = await controlClient(options);
      const reply = await client.createToken(request);
      // Only the token, so that scripts can run WEFT_TOKEN=$(weft token create --service api).
      process.stdout.write(`${reply.token}\n`);
    });

  controlUrlOption(token.command('list'))
    .description('list tokens (never their secrets)')
    .option('--json', 'print JSON for scripts')
    .action(async (options: ControlUrlOptions & { json?: boolean }) => {
      const client = await controlClient(options);
      const reply = await client.tokens();
      if (options.json) {
        process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
        return;
      }
      process.stdout.write(renderTable(['ID', 'KIND', 'SERVICE', 'EXPIRES', 'DESCRIPTION'], reply.tokens.map(tokenRow)));
    });

  controlUrlOption(token.command('revoke'))
    .description('revoke a token by its id (weft token list shows ids); it stops working at once')
    .argument('<id>', 'the token id (16 hex digits)')
    .action(async (id: string, options: ControlUrlOptions) => {
      const client = await controlClient(options);
      await client.revokeToken(id);
      process.stdout.write(`revoked token ${id}\n`);
    });
}

function tokenRow(info: TokenInfo): string[] {
  return [info.id, info.kind, info.service ?? '-', info.expiresAt ?? 'never', info.description ?? ''];
}
