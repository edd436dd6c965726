// Control auth: the admin's token routes of /api/v1 — create (the secret is shown once), list (never secrets), revoke.
import type { TokenCreatedReply, TokensReply } from '../../model/index.js';
import { API_PREFIX } from '../../model/index.js';
import { assertAdmin, readJsonBody, type Router } from '../http/index.js';
import type { TokenStore } from './token-store.js';

export function addTokenRoutes(router: Router, tokens: TokenStore): void {
  router.add('POST', `${API_PREFIX}/tokens`, async ({ req, principal }) => {
    assertAdmin(principal, 'creating a token');
    const reply: TokenCreatedReply = await tokens.create(await readJsonBody(req));
    return { status: 201, body: reply };
  });

  router.add('GET', `${API_PREFIX}/tokens`, async ({ principal }) => {
    assertAdmin(principal, 'listing tokens');
    const reply: TokensReply = { tokens: await tokens.list() };
    return { status: 200, body: reply };
  });

  router.add('DELETE', `${API_PREFIX}/tokens/:id`, async ({ params, principal }) => {
    assertAdmin(principal, 'revoking a token');
    const id = params.id ?? '';
    await tokens.revoke(id);
    return { status: 200, body: { revoked: id } };
  });
}
