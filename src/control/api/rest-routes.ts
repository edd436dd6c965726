// Control API: the REST routes of /api/v1 — instances (register, deregister, heartbeat) and service listings.
import { ValidationError } from '../../core/index.js';
import { API_PREFIX, SERVICE_NAME, type InstanceReply, type InstancesReply, type ServicesReply } from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import { readJsonBody, type Router } from '../http/index.js';

export function addRestRoutes(router: Router, registry: Registry): void {
  router.add('PUT', `${API_PREFIX}/instances/:id`, async ({ req, params }) => {
    const body = await readJsonBody(req);
    const { instance, version, created } = await registry.register(body, params.id);
    const reply: InstanceReply = { version, instance };
    return { status: created ? 201 : 200, body: reply };
  });

  router.add('DELETE', `${API_PREFIX}/instances/:id`, async ({ params }) => {
    const reply: InstanceReply = await registry.deregister(params.id ?? '');
    return { status: 200, body: reply };
  });

  router.add('PUT', `${API_PREFIX}/instances/:id/heartbeat`, async ({ req, params }) => {
    const body = await readJsonBody(req);
    const reply: InstanceReply = await registry.heartbeat(params.id ?? '', body);
    return { status: 200, body: reply };
  });

  router.add('GET', `${API_PREFIX}/services`, async () => {
    const reply: ServicesReply = { version: registry.version(), services: registry.services() };
    return { status: 200, body: reply };
  });

  router.add('GET', `${API_PREFIX}/services/:name/instances`, async ({ params }) => {
    const service = params.name ?? '';
    if (!SERVICE_NAME.test(service)) throw new ValidationError('name', 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters');
    const reply: InstancesReply = { version: registry.version(), service, instances: registry.instances(service) };
    return { status: 200, body: reply };
  });
}
