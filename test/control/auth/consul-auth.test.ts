// Control auth: the real npm consul client against a control plane with authentication — its token option is a join token, service-scoped like weft's own API.
import Consul from 'consul';
import { afterEach, describe, expect, it } from 'vitest';
import { joinToken, startAuthPlane, stopAuthPlanes } from './auth-fixture.js';

const clients: Consul[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await stopAuthPlanes();
});

function consulFor(port: number, token?: string): Consul {
  const client = new Consul({ host: '127.0.0.1', port, ...(token === undefined ? {} : { defaults: { token } }) });
  clients.push(client);
  return client;
}

describe('the consul client with a token', () => {
  it('registers and updates its own service with a join token, and is refused without one or for another service', async () => {
    const auth = await startAuthPlane();
    const port = auth.plane.port;
    const api = await joinToken(auth, 'api');

    await expect(consulFor(port).agent.service.register({ name: 'api', id: 'api-1', port: 9001 })).rejects.toMatchObject({ statusCode: 401 });
    expect(auth.plane.registry.get('api-1')).toBeUndefined();

    const withToken = consulFor(port, api);
    await withToken.agent.service.register({ name: 'api', id: 'api-1', port: 9001, check: { name: 'ttl', timeout: '1s', ttl: '30s' } });
    expect(auth.plane.registry.get('api-1')?.service).toBe('api');
    await withToken.agent.check.pass({ id: 'service:api-1' });
    await expect(withToken.agent.service.register({ name: 'web', id: 'web-1', port: 9002 })).rejects.toMatchObject({ statusCode: 403 });
    expect(Object.keys(await withToken.agent.service.list())).toEqual(['api-1']);

    const admin = consulFor(port, auth.admin);
    await admin.agent.service.register({ name: 'web', id: 'web-1', port: 9002, check: { name: 'ttl', timeout: '1s', ttl: '30s' } });
    await admin.agent.check.pass({ id: 'service:web-1' });
    await expect(withToken.agent.check.fail({ id: 'service:web-1' })).rejects.toMatchObject({ statusCode: 403 });
    await expect(withToken.agent.service.deregister('web-1')).rejects.toMatchObject({ statusCode: 403 });
    expect(auth.plane.registry.get('web-1')?.health).toBe('passing');
    await withToken.agent.service.deregister('api-1');
    expect(auth.plane.registry.get('api-1')).toBeUndefined();
  });
});
