// Consul API: the /v1 routes a Consul client uses — agent services and checks, catalog, health, status — over the weft registry.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { Counter } from 'prom-client';
import { isWeftError, NotFoundError, ValidationError, type Runtime } from '../../core/index.js';
import { formatHostPort, type Instance } from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import { assertMayActForInstance, assertMayRegister } from '../api/index.js';
import { AUTH_REFUSED_METRIC } from '../auth/index.js';
import { readJsonBody, type Principal, type RouteContext, type Router } from '../http/index.js';
import { consulIndex, parseBlockingQuery, waitForChange } from './blocking-query.js';
import { ConsulAgent, type CheckView, type ConsulAgentOptions } from './consul-agent.js';
import { consulRoute, type ConsulHandler } from './consul-reply.js';
import { agentService, catalogService, DATACENTER, healthCheck, serviceEntry, type ConsulNode } from './consul-shapes.js';
import { parseServiceDefinition, type ConsulStatus } from './service-definition.js';

export interface ConsulApiOptions extends ConsulAgentOptions {
  /** The Consul node name every service appears on; default the machine's host name. */
  nodeName?: string;
}

/** Registry field → the Consul body field it came from, so that errors name what the client sent. */
const CONSUL_FIELD: Readonly<Record<string, string>> = {
  id: 'ID',
  service: 'Name',
  host: 'Address',
  port: 'Port',
  weight: 'Weights.Passing',
  tags: 'Tags',
  meta: 'Meta',
  ttlMs: 'Check.TTL',
};

export class ConsulApi {
  readonly agent: ConsulAgent;
  private readonly nodeName: string;
  private readonly nodeId: string;
  private readonly stop = new AbortController();
  /** Blocking queries waiting for a change right now. */
  private waiting = 0;

  constructor(
    private readonly registry: Registry,
    private readonly runtime: Runtime,
    options: ConsulApiOptions = {},
  ) {
    this.agent = new ConsulAgent(registry, runtime, options);
    this.nodeName = options.nodeName ?? hostname();
    const hex = createHash('sha256').update(this.nodeName).digest('hex');
    this.nodeId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  addRoutes(router: Router): void {
    const add = (method: string, path: string, handler: ConsulHandler): void => {
      router.add(method, `/v1${path}`, consulRoute(handler, this.runtime.logger, (error) => this.countRefusal(error)));
    };
    const blocking = (build: (ctx: RouteContext) => unknown): ConsulHandler => async (ctx) => {
      await this.block(ctx);
      return { body: build(ctx), index: consulIndex(this.registry) };
    };

    add('PUT', '/agent/service/register', async ({ req, principal }) => {
      const definition = parseServiceDefinition(await readJsonBody(req));
      assertMayRegister(principal, this.registry, definition.registration.id, definition.registration, 'registering a service');
      try {
        await this.agent.register(definition);
      } catch (error) {
        if (error instanceof ValidationError && CONSUL_FIELD[error.field.split('.')[0] ?? ''] !== undefined) {
          const [head = '', ...rest] = error.field.split('.');
          throw new ValidationError([CONSUL_FIELD[head], ...rest].join('.'), error.message.slice(error.field.length + 2));
        }
        throw error;
      }
      return { body: undefined };
    });
    add('PUT', '/agent/service/deregister/:id', async ({ params, principal }) => {
      assertMayActForInstance(principal, this.registry, params.id ?? '', 'deregistering a service');
      await this.agent.deregister(params.id ?? '');
      return { body: undefined };
    });
    add('GET', '/agent/services', blocking(() => Object.fromEntries(this.registry.all().map((i) => [i.id, agentService(i)]))));
    add('GET', '/agent/service/:id', async ({ params }) => {
      const instance = this.registry.get(params.id ?? '');
      if (!instance) throw new NotFoundError(`service ID "${params.id ?? ''}"`);
      return { body: agentService(instance), index: consulIndex(this.registry) };
    });
    add('GET', '/agent/checks', async ({ req, principal }) => {
      const node = this.node(req);
      const out: Record<string, unknown> = {};
      for (const instance of this.registry.all()) {
        if (!readsChecksOf(principal, instance.service)) continue;
        for (const check of this.agent.checksOf(instance)) out[check.id] = healthCheck(check, instance, node);
      }
      return { body: out };
    });
    for (const [verb, status] of [['pass', 'passing'], ['warn', 'warning'], ['fail', 'critical']] as const) {
      add('PUT', `/agent/check/${verb}/:id`, async ({ params, url, principal }) => {
        this.assertMayUpdateCheck(principal, params.id ?? '');
        await this.agent.updateCheck(params.id ?? '', status, url.searchParams.get('note') ?? '');
        return { body: undefined };
      });
    }
    add('PUT', '/agent/check/update/:id', async ({ req, params, principal }) => {
      this.assertMayUpdateCheck(principal, params.id ?? '');
      const body = (await readJsonBody(req)) as { Status?: unknown; Output?: unknown } | undefined;
      const status = body?.Status;
      if (status !== 'passing' && status !== 'warning' && status !== 'critical') throw new ValidationError('Status', 'expected "passing", "warning" or "critical"');
      await this.agent.updateCheck(params.id ?? '', status satisfies ConsulStatus, typeof body?.Output === 'string' ? body.Output : '');
      return { body: undefined };
    });
    add('GET', '/agent/self', async ({ req }) => {
      const node = this.node(req);
      const port = req.socket.localPort ?? 0;
      return {
        body: {
          Config: { Datacenter: DATACENTER, NodeName: node.name, NodeID: node.id, Server: true, Revision: '', Version: '1.0.0-weft' },
          Member: { Name: node.name, Addr: node.address, Port: port, Tags: { dc: DATACENTER, role: 'consul' }, Status: 1 },
          Meta: {},
        },
      };
    });

    add('GET', '/catalog/services', blocking(() => {
      const out: Record<string, string[]> = {};
      for (const instance of this.registry.all()) {
        const tags = (out[instance.service] ??= []);
        for (const tag of instance.tags) if (!tags.includes(tag)) tags.push(tag);
      }
      return out;
    }));
    add('GET', '/catalog/service/:name', blocking(({ req, params, url }) => {
      const node = this.node(req);
      return this.instances(params.name ?? '', url).map((i) => catalogService(i, node));
    }));
    add('GET', '/catalog/datacenters', async () => ({ body: [DATACENTER] }));
    add('GET', '/catalog/nodes', blocking(({ req }) => {
      const node = this.node(req);
      return [{ ID: node.id, Node: node.name, Address: node.address, Datacenter: DATACENTER, TaggedAddresses: { lan: node.address, wan: node.address }, Meta: {} }];
    }));

    add('GET', '/health/service/:name', blocking(({ req, params, url, principal }) => {
      const node = this.node(req);
      const onlyPassing = isSet(url.searchParams.get('passing'));
      const out: unknown[] = [];
      for (const instance of this.instances(params.name ?? '', url)) {
        const checks = this.checksFor(principal, instance);
        // As in Consul, ?passing drops an entry with any check not passing, warnings included.
        if (onlyPassing && checks.some((c) => c.status !== 'passing')) continue;
        out.push(serviceEntry(instance, checks, node));
      }
      return out;
    }));
    add('GET', '/health/checks/:name', blocking(({ req, params, principal }) => {
      const node = this.node(req);
      return this.registry.instances(params.name ?? '').flatMap((i) => this.checksFor(principal, i).map((c) => healthCheck(c, i, node)));
    }));

    add('GET', '/status/leader', async ({ req }) => ({ body: this.leader(req) }));
    add('GET', '/status/peers', async ({ req }) => ({ body: [this.leader(req)] }));
  }

  close(): void {
    this.stop.abort();
    this.agent.close();
  }

  // ---- internals ----

  /**
   * The checks of an instance as this caller may see them. Discovery needs every status, but a check's output and
   * definition are its owner's: the control plane ran it from its own network position.
   */
  private checksFor(principal: Principal, instance: Instance): CheckView[] {
    const checks = this.agent.checksOf(instance);
    if (readsChecksOf(principal, instance.service)) return checks;
    return checks.map(({ id, name, status, kind }) => ({ id, name, status, kind, output: '' }));
  }

  /** The REST routes' refusals are counted on the server's error path, which never sees these routes' errors: counted here alike. */
  private countRefusal(error: unknown): void {
    if (!isWeftError(error) || (error.code !== 'FORBIDDEN' && error.code !== 'UNAUTHENTICATED')) return;
    const refused = this.runtime.metrics.getSingleMetric(AUTH_REFUSED_METRIC);
    if (refused instanceof Counter) refused.inc({ reason: error.code === 'FORBIDDEN' ? 'forbidden' : 'missing' });
  }

  private assertMayUpdateCheck(principal: Principal, checkId: string): void {
    const id = this.agent.instanceOfCheck(checkId);
    if (id !== undefined) assertMayActForInstance(principal, this.registry, id, 'updating a check');
  }

  private async block({ res, url }: RouteContext): Promise<void> {
    const query = parseBlockingQuery(url);
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    res.once('close', onClose);
    this.waiting++;
    try {
      await waitForChange(this.registry, query, this.runtime.rng, [this.stop.signal, gone.signal]);
    } finally {
      this.waiting--;
      res.off('close', onClose);
    }
  }

  /** Blocking queries waiting right now (the control plane's `weft_control_watchers{kind="consul_blocking"}`). */
  blockingQueries(): number {
    return this.waiting;
  }

  /** Instances of a service carrying every ?tag= asked for. */
  private instances(service: string, url: URL): Instance[] {
    const tags = url.searchParams.getAll('tag');
    const all = this.registry.instances(service);
    return tags.length === 0 ? all : all.filter((i) => tags.every((t) => i.tags.includes(t)));
  }

  private node(req: IncomingMessage): ConsulNode {
    return { id: this.nodeId, name: this.nodeName, address: localAddress(req) };
  }

  private leader(req: IncomingMessage): string {
    const address = localAddress(req);
    return formatHostPort(address, req.socket.localPort ?? 0);
  }
}

function localAddress(req: IncomingMessage): string {
  const address = req.socket.localAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** Whether the caller may read a service's check output: an admin (any caller with authentication off) every service's, a service credential its own only. */
function readsChecksOf(principal: Principal, service: string): boolean {
  return principal.kind === 'admin' || (principal.kind === 'service' && principal.service === service);
}

/** Consul reads ?passing, ?passing=true and ?passing=1 as set, and ?passing=false as not. */
function isSet(value: string | null): boolean {
  return value !== null && value !== 'false' && value !== '0';
}
