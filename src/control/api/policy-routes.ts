// Control API: the REST routes of /api/v1/policies — put, list, read and delete a service's traffic policy.
import { NotFoundError, ValidationError } from '../../core/index.js';
import { API_PREFIX, SERVICE_NAME, type PoliciesReply, type PolicyRemovedReply, type PolicyReply } from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import { readJsonBody, type Router } from '../http/index.js';

export function addPolicyRoutes(router: Router, registry: Registry): void {
  router.add('PUT', `${API_PREFIX}/policies/:service`, async ({ req, params }) => {
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

  router.add('DELETE', `${API_PREFIX}/policies/:service`, async ({ params }) => {
    const reply: PolicyRemovedReply = await registry.deletePolicy(serviceParam(params.service));
    return { status: 200, body: reply };
  });
}

function serviceParam(raw: string | undefined): string {
  const service = raw ?? '';
  if (!SERVICE_NAME.test(service)) throw new ValidationError('service', 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters');
  return service;
}
