// Control API: the REST routes of /api/v1/policies (ServicePolicy) and of every table kind (/api/v1/authorization-policies, ...) — put, list, read, delete.
import { NotFoundError, ValidationError } from '../../core/index.js';
import {
  API_PREFIX,
  POLICY_KIND_TABLE,
  POLICY_KINDS,
  SERVICE_NAME,
  type KindPoliciesReply,
  type KindPolicyRemovedReply,
  type KindPolicyReply,
  type PoliciesReply,
  type PolicyKind,
  type PolicyRemovedReply,
  type PolicyReply,
} from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import { assertAdmin, readJsonBody, type Router } from '../http/index.js';

export function addPolicyRoutes(router: Router, registry: Registry): void {
  router.add('PUT', `${API_PREFIX}/policies/:service`, async ({ req, params, principal }) => {
    assertAdmin(principal, 'changing a policy');
    const service = serviceParam(params.service);
    const existed = registry.policy(service) !== undefined;
    const body = await readJsonBody(req);
    const reply: PolicyReply = await registry.putPolicy(body, service);
    return { status: existed ? 200 : 201, body: reply };
  });

  router.add('GET', `${API_PREFIX}/policies`, async () => {
    const reply: PoliciesReply = { version: registry.version(), policies: registry.policies() };
    return { status: 200, body: reply };
  });

  router.add('GET', `${API_PREFIX}/policies/:service`, async ({ params }) => {
    const service = serviceParam(params.service);
    const policy = registry.policy(service);
    if (!policy) throw new NotFoundError(`policy "${service}"`);
    const reply: PolicyReply = { version: registry.version(), policy };
    return { status: 200, body: reply };
  });

  router.add('DELETE', `${API_PREFIX}/policies/:service`, async ({ params, principal }) => {
    assertAdmin(principal, 'deleting a policy');
    const reply: PolicyRemovedReply = await registry.deletePolicy(serviceParam(params.service));
    return { status: 200, body: reply };
  });

  for (const kind of POLICY_KINDS) addKindRoutes(router, registry, kind);
}

function addKindRoutes(router: Router, registry: Registry, kind: PolicyKind): void {
  const base = `${API_PREFIX}/${POLICY_KIND_TABLE[kind].apiPath}`;
  router.add('PUT', `${base}/:service`, async ({ req, params, principal }) => {
    assertAdmin(principal, `changing a ${kind}`);
    const service = serviceParam(params.service);
    const existed = registry.kindPolicy(kind, service) !== undefined;
    const body = await readJsonBody(req);
    const reply: KindPolicyReply = await registry.putKindPolicy(kind, body, service);
    return { status: existed ? 200 : 201, body: reply };
  });

  router.add('GET', base, async () => {
    const reply: KindPoliciesReply = { version: registry.version(), policies: registry.kindPolicies(kind) };
    return { status: 200, body: reply };
  });

  router.add('GET', `${base}/:service`, async ({ params }) => {
    const service = serviceParam(params.service);
    const policy = registry.kindPolicy(kind, service);
    if (!policy) throw new NotFoundError(`${kind} "${service}"`);
    const reply: KindPolicyReply = { version: registry.version(), policy };
    return { status: 200, body: reply };
  });

  router.add('DELETE', `${base}/:service`, async ({ params, principal }) => {
    assertAdmin(principal, `deleting a ${kind}`);
    const reply: KindPolicyRemovedReply = await registry.deleteKindPolicy(kind, serviceParam(params.service));
    return { status: 200, body: reply };
  });
}

function serviceParam(raw: string | undefined): string {
  const service = raw ?? '';
  if (!SERVICE_NAME.test(service)) throw new ValidationError('service', 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters');
  return service;
}
