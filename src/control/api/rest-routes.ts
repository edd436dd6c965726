// Control API: the REST routes of /api/v1 — instances (register, deregister, heartbeat) and service listings.
import { ValidationError } from '../../core/index.js';
import { API_PREFIX, SERVICE_NAME, withoutCheckRecords, type InstanceReply, type InstancesReply, type ServicesReply } from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import { assertMayActFor, readJsonBody, type Principal, type Router } from '../http/index.js';

export function addRestRoutes(router: Router, registry: Registry): void {
  router.add('PUT', `${API_PREFIX}/instances/:id`, async ({ req, params, principal }) => {
    const body = await readJsonBody(req);
    assertMayRegister(principal, registry, params.id ?? '', body, 'registering an instance');
    const { instance, version, created } = await registry.register(body, params.id);
    const reply: InstanceReply = { version, instance: withoutCheckRecords(instance) };
    return { status: created ? 201 : 200, body: reply };
  });

  router.add('DELETE', `${API_PREFIX}/instances/:id`, async ({ params, principal }) => {
    assertMayActForInstance(principal, registry, params.id ?? '', 'deregistering an instance');
    const { version, instance } = await registry.deregister(params.id ?? '');
    const reply: InstanceReply = { version, instance: withoutCheckRecords(instance) };
    return { status: 200, body: reply };
  });

  router.add('PUT', `${API_PREFIX}/instances/:id/heartbeat`, async ({ req, params, principal }) => {
    assertMayActForInstance(principal, registry, params.id ?? '', 'a heartbeat');
    const body = await readJsonBody(req);
    const { version, instance } = await registry.heartbeat(params.id ?? '', body);
    const reply: InstanceReply = { version, instance: withoutCheckRecords(instance) };
    return { status: 200, body: reply };
  });

  router.add('GET', `${API_PREFIX}/services`, async () => {
    const reply: ServicesReply = { version: registry.version(), services: registry.services() };
    return { status: 200, body: reply };
  });

  router.add('GET', `${API_PREFIX}/services/:name/instances`, async ({ params }) => {
    const service = params.name ?? '';
    if (!SERVICE_NAME.test(service)) throw new ValidationError('name', 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters');
    const reply: InstancesReply = { version: registry.version(), service, instances: registry.instances(service).map(withoutCheckRecords) };
    return { status: 200, body: reply };
  });
}

/**
 * A registration names its service in the body; an id already registered keeps its service's owner, so that a
 * sidecar cannot take over another service's instance by reusing its id. A body without a service is left to the
 * registry to refuse.
 */
export function assertMayRegister(principal: Principal, registry: Registry, id: string, body: unknown, action: string): void {
  if (principal.kind === 'admin') return;
  const service = typeof body === 'object' && body !== null ? (body as { service?: unknown }).service : undefined;
  if (typeof service === 'string') assertMayActFor(principal, service, action);
  assertMayActForInstance(principal, registry, id, action);
}

/** An unknown id passes here: the registry answers 404 for it. */
export function assertMayActForInstance(principal: Principal, registry: Registry, id: string, action: string): void {
  const existing = registry.get(id);
  if (existing) assertMayActFor(principal, existing.service, action);
}
