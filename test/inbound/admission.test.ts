// Inbound: the admission stage over a scripted next stage — authorization, rate limits and JWT refusals before the app, and a client leaving mid-check.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdmissionStage, createAdmissionMetrics, InboundAdmission } from '../../src/inbound/index.js';
import { kindPolicyMaps, parseKindPolicy, parsePolicy, snapshotFromInstances, type AuthorizationPolicyInput, type KindPolicy, type ServicePolicy } from '../../src/model/index.js';
import { SnapshotChannel } from '../../src/resolve/snapshot-channel.js';
import { AUDIENCE, ISSUER, signingKey, signToken, type SigningKey } from '../security/jwt/jwt-fixtures.js';
import { answer, headerValues, manualRuntime, meshRequest, RecordingHandler, ScriptedDispatch, seriesValue, type PolicyInput } from '../support/request-path-kit.js';

let key: SigningKey;
let stranger: SigningKey;
beforeAll(async () => {
  key = await signingKey('k1');
  stranger = await signingKey('k2');
});

const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()!();
});

interface Policies {
  readonly authz?: Omit<AuthorizationPolicyInput, 'service'>;
  readonly service?: PolicyInput;
  /** Tokens of `key` are required everywhere. */
  readonly jwt?: boolean;
}

/** "api"'s admission stage in front of a scripted app that answers 200 to everything it gets. */
function admissionOf(policies: Policies) {
  const runtime = manualRuntime();
  const kinds: KindPolicy[] = [];
  if (policies.authz !== undefined) kinds.push(parseKindPolicy('AuthorizationPolicy', { service: 'api', ...policies.authz }));
  if (policies.jwt === true) {
    kinds.push(
      parseKindPolicy('JwtPolicy', {
        kind: 'JwtPolicy',
        service: 'api',
        providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [key.publicJwk] }, forwardClaims: { sub: 'x-user-id' } }],
      }),
    );
  }
  const services = new Map<string, ServicePolicy>(policies.service === undefined ? [] : [['api', parsePolicy({ ...policies.service, service: 'api' })]]);
  const channel = new SnapshotChannel(snapshotFromInstances(1, [], services, kindPolicyMaps(kinds)));
  const admission = new InboundAdmission({ service: 'api', snapshots: channel, clock: runtime.clock });
  closers.push(() => admission.close());
  const app = new ScriptedDispatch(Array.from({ length: 10 }, () => answer(200, { body: ['app'] })));
  const stage = new AdmissionStage(app.dispatch, admission, createAdmissionMetrics(runtime.metrics, 'api'));
  const send = (options: { path?: string; token?: string } = {}) => {
    const headers: Record<string, string> = { host: 'api', 'x-weft-source': 'web' };
    if (options.token !== undefined) headers['Authorization'] = `Bearer ${options.token}`;
    const req = meshRequest({ clock: runtime.clock, authority: 'api', path: options.path ?? '/orders', headers });
    req.caller = { service: 'web', authenticated: false };
    req.facts.source = 'web';
    const handler = new RecordingHandler();
    stage.dispatch(req, handler);
    return { req, handler };
  };
  const metric = (name: string, labels: Record<string, string>) => seriesValue(runtime.metrics, name, labels);
  return { runtime, clock: runtime.clock, admission, app, send, metric };
}

const WEB_ONLY_ON_ALLOWED: Omit<AuthorizationPolicyInput, 'service'> = {
  default: 'deny',
  allowUnauthenticatedSources: true,
  rules: [{ from: { services: ['web'] }, to: { pathPrefix: '/allowed' } }],
};

describe('admission stage: authorization and rate limits', () => {
  it('refuses what the AuthorizationPolicy denies with FORBIDDEN, never calling the app, and counts it for the caller', async () => {
    const { send, app, metric } = admissionOf({ authz: WEB_ONLY_ON_ALLOWED });
    const denied = send({ path: '/denied' });
    expect(denied.handler.trace).toEqual(['error FORBIDDEN']);
    expect(app.calls).toHaveLength(0);
    expect(await metric('weft_proxy_authz_denied_total', { destination: 'api', source: 'web' })).toBe(1);
    expect(send({ path: '/allowed/x' }).handler.trace).toEqual(['start 200', 'data', 'end']);
    expect(app.calls).toHaveLength(1);
    expect(await metric('weft_proxy_authz_denied_total', { destination: 'api', source: 'web' })).toBe(1);
  });

  it('refuses a request over the rate limit with RATE_LIMITED until the bucket refills on the clock', async () => {
    const { send, app, clock, metric } = admissionOf({ service: { rateLimits: [{ requestsPerSecond: 1, burst: 1 }] } });
    expect(send().handler.trace).toEqual(['start 200', 'data', 'end']);
    const limited = send().handler;
    expect(limited.trace).toEqual(['error RATE_LIMITED']);
    expect(app.calls).toHaveLength(1);
    expect(await metric('weft_proxy_rate_limited_total', { destination: 'api', source: 'web' })).toBe(1);
    clock.advance(1_000);
    expect(send().handler.trace).toEqual(['start 200', 'data', 'end']);
    expect(app.calls).toHaveLength(2);
  });

  it('checks authorization first: a refused caller spends no rate-limit token', () => {
    const { send, app } = admissionOf({ authz: WEB_ONLY_ON_ALLOWED, service: { rateLimits: [{ requestsPerSecond: 1, burst: 1 }] } });
    for (let i = 0; i < 3; i++) expect(send({ path: '/denied' }).handler.trace).toEqual(['error FORBIDDEN']);
    expect(send({ path: '/allowed' }).handler.trace).toEqual(['start 200', 'data', 'end']);
    expect(app.calls).toHaveLength(1);
  });
});

describe('admission stage: JwtPolicy', () => {
  it('refuses a token no trusted key signed with UNAUTHENTICATED, before the app', async () => {
    const { send, app, metric } = admissionOf({ jwt: true });
    const forged = send({ token: await signToken(stranger, {}, { kid: 'k1' }) });
    await forged.handler.done;
    expect(forged.handler.trace).toEqual(['error UNAUTHENTICATED']);
    const garbage = send({ token: 'not.a.token' });
    await garbage.handler.done;
    expect(garbage.handler.trace).toEqual(['error UNAUTHENTICATED']);
    expect(app.calls).toHaveLength(0);
    expect(await metric('weft_proxy_jwt_denied_total', { destination: 'api', reason: 'signature' })).toBe(1);
    expect(await metric('weft_proxy_jwt_denied_total', { destination: 'api', reason: 'malformed' })).toBe(1);
  });

  it('lets a valid token through with its verified claims in place of the token', async () => {
    const { send, app } = admissionOf({ jwt: true });
    const { handler } = send({ token: await signToken(key) });
    await handler.done;
    expect(handler.trace).toEqual(['start 200', 'data', 'end']);
    expect(app.calls).toHaveLength(1);
    expect(headerValues(app.call(0).headers, 'x-user-id')).toEqual(['user-1']);
    expect(headerValues(app.call(0).headers, 'authorization')).toEqual([]);
  });

  it('a client that leaves while its token is checked is told CANCELLED once, and the app is never called', async () => {
    const { send, app, admission } = admissionOf({ jwt: true });
    const authenticate = vi.spyOn(admission.authenticator()!, 'authenticate');
    const { req, handler } = send({ token: await signToken(key) });
    expect(authenticate).toHaveBeenCalledTimes(1);
    expect(handler.events).toEqual([]);
    req.cancel();
    expect(handler.trace).toEqual(['error CANCELLED']);
    // The check still finishes; its outcome (valid) reaches nobody.
    const outcome = await authenticate.mock.results[0]!.value;
    expect(outcome).toMatchObject({ ok: true });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(handler.trace).toEqual(['error CANCELLED']);
    expect(app.calls).toHaveLength(0);
  });
});
