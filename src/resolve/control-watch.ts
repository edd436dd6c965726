// Resolve: follows the control plane's NDJSON watch stream and publishes immutable snapshots to the data plane.
import http from 'node:http';
import https from 'node:https';
import { Backoff, type BackoffOptions, type Runtime } from '../core/index.js';
import {
  EMPTY_SNAPSHOT,
  WATCH_CONTENT_TYPE,
  WATCH_PING_INTERVAL_MS,
  apiPaths,
  snapshotFromInstances,
  watchEventSchema,
  type Instance,
  type ServicePolicy,
  type KindPolicyMaps,
  EMPTY_KIND_POLICIES,
  kindPolicyMaps,
  withKindPolicy,
  type Snapshot,
  type SnapshotSource,
  type WatchEvent,
  STORE_HEADER,
} from '../model/index.js';
import { ControlReplicas, type ControlCredentials, type ControlUrls } from '../workload/index.js';
import { NdjsonLineDecoder } from './ndjson-lines.js';
import { SnapshotChannel } from './snapshot-channel.js';
import { watchMetrics, type WatchMetrics } from './watch-metrics.js';

export interface ControlWatchOptions {
  /**
   * Base URL of the control plane, e.g. http://127.0.0.1:8500, or several replicas of it (a list or comma-separated):
   * a lost stream reconnects to the next one in turn, resuming from the last version.
   */
  url: ControlUrls;
  runtime: Runtime;
  /** Pause between full rounds over the replicas (after every one of them failed); the next replica is tried at once. */
  backoff?: BackoffOptions;
  /** Silence after which the connection is presumed dead; the server pings every WATCH_PING_INTERVAL_MS. */
  deadAfterMs?: number;
  /** Credentials sent with each watch request (see ControlClient). */
  credentials?: ControlCredentials;
}

export const CONTROL_WATCH_DEFAULTS = {
  backoff: { baseMs: 100, maxMs: 5_000 },
  deadAfterMs: 3 * WATCH_PING_INTERVAL_MS,
} as const;

interface Connection {
  readonly origin: string;
  readonly request: http.ClientRequest;
  readonly decoder: NdjsonLineDecoder;
  readonly since: number | undefined;
  deadTimer: NodeJS.Timeout;
}

export class ControlWatch implements SnapshotSource {
  private readonly replicas: ControlReplicas;
  private readonly runtime: Runtime;
  private readonly backoff: Backoff;
  private readonly deadAfterMs: number;
  private readonly credentials: ControlCredentials | undefined;
  private readonly metrics: WatchMetrics;

  private readonly instances = new Map<string, Instance>();
  // Replaced, never mutated, on a policy change: snapshots hold it as is, and an unchanged policy keeps its identity.
  private policies: ReadonlyMap<string, ServicePolicy> = new Map();
  private kindPolicies: KindPolicyMaps = EMPTY_KIND_POLICIES;
  // The store whose history `version` belongs to; sent back on reconnect so a different store answers with a reset.
  private storeId: string | undefined;
  private version = 0;
  private haveState = false;
  private readonly channel: SnapshotChannel;

  private connection: Connection | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private isConnected = false;
  private started = false;
  private closed = false;
  // Logged once per outage: a down control plane must not flood the log at every retry.
  private outage = false;
  // Replicas that failed since the stream last delivered data; a full round of them earns a backoff pause.
  private failedInRound = 0;

  private resolveReady!: () => void;
  private readonly readyPromise = new Promise<void>((resolve) => {
    this.resolveReady = resolve;
  });

  constructor(options: ControlWatchOptions) {
    this.replicas = new ControlReplicas(options.url);
    this.runtime = options.runtime;
    this.backoff = new Backoff(options.backoff ?? CONTROL_WATCH_DEFAULTS.backoff, options.runtime.rng);
    this.deadAfterMs = options.deadAfterMs ?? CONTROL_WATCH_DEFAULTS.deadAfterMs;
    this.credentials = options.credentials;
    this.metrics = watchMetrics(options.runtime.metrics);
    this.channel = new SnapshotChannel(EMPTY_SNAPSHOT, (err) => options.runtime.logger.error({ err }, 'watch: snapshot subscriber threw'));
  }

  /** Opens the stream; reconnects by itself until close(). */
  start(): this {
    if (!this.started && !this.closed) {
      this.started = true;
      this.connect();
    }
    return this;
  }

  current(): Snapshot {
    return this.channel.current();
  }

  subscribe(listener: (snapshot: Snapshot) => void): () => void {
    return this.channel.subscribe(listener);
  }

  /** Resolves once the first snapshot has arrived from the control plane. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  connected(): boolean {
    return this.isConnected;
  }

  /** Origin of the control-plane replica the stream follows (or is about to try). */
  currentUrl(): string {
    return this.replicas.at(0).origin;
  }

  /** Version of the last change applied. */
  lastVersion(): number {
    return this.version;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) this.teardown(connection);
    this.setConnected(false);
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    // Resume from the last applied version, so the server sends only what we missed instead of a full reset.
    // Replicas on one shared store report the same store id and versions, so this resumes on any of them.
    const since = this.haveState ? this.version : undefined;
    const base = this.replicas.current();
    const target = new URL(apiPaths.watch(since, this.storeId), base);
    const transport = base.protocol === 'https:' ? https : http;
    const headers: http.OutgoingHttpHeaders = { accept: WATCH_CONTENT_TYPE };
    const authorization = this.credentials?.('GET', target.pathname + target.search);
    if (authorization !== undefined) headers.authorization = authorization;
    const request = transport.get(target, { agent: false, headers });
    this.metrics.replica.set(this.replicas.currentIndex());
    const connection: Connection = {
      origin: base.origin,
      request,
      decoder: new NdjsonLineDecoder(),
      since,
      // Also bounds the connect and the wait for headers: a black-holed control plane looks the same as a silent one.
      deadTimer: setTimeout(() => this.fail(connection, `no data for ${this.deadAfterMs} ms`), this.deadAfterMs),
    };
    connection.deadTimer.unref();
    this.connection = connection;

    request.on('error', (err) => this.fail(connection, err.message));
    request.on('response', (res) => {
      if (this.connection !== connection) {
        res.destroy();
        return;
      }
      if (res.statusCode !== 200) {
        res.resume();
        this.fail(connection, `watch answered ${res.statusCode ?? 'no status'}`);
        return;
      }
      const store = res.headers[STORE_HEADER];
      if (typeof store === 'string') this.storeId = store;
      this.setConnected(true);
      res.on('data', (chunk: Buffer) => this.onChunk(connection, chunk));
      res.on('error', (err) => this.fail(connection, err.message));
      res.on('end', () => this.fail(connection, 'stream ended'));
      res.on('close', () => this.fail(connection, 'stream closed'));
    });
  }

  private onChunk(connection: Connection, chunk: Buffer): void {
    if (this.connection !== connection) return;
    connection.deadTimer.refresh();
    let lines: string[];
    try {
      lines = connection.decoder.push(chunk);
    } catch (err) {
      this.fail(connection, (err as Error).message);
      return;
    }
    // Every event of a chunk is applied before one snapshot is published: a burst becomes one update downstream.
    let changed = false;
    for (const line of lines) {
      const event = this.parse(line);
      if (!event) {
        if (changed) this.publish();
        this.fail(connection, 'bad line in watch stream');
        return;
      }
      this.metrics.events.inc({ type: event.type });
      if (this.apply(event)) changed = true;
    }
    if (lines.length > 0) this.recovered(connection);
    if (changed) this.publish();
  }

  private parse(line: string): WatchEvent | undefined {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      this.runtime.logger.warn({ line: line.slice(0, 200), err: (err as Error).message }, 'watch: line is not JSON; reconnecting');
      return undefined;
    }
    const result = watchEventSchema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      this.runtime.logger.warn(
        { line: line.slice(0, 200), path: issue?.path.join('.'), problem: issue?.message },
        'watch: invalid event; reconnecting',
      );
      return undefined;
    }
    return result.data;
  }

  /** Applies one event to the instance map; true when the state changed. */
  private apply(event: WatchEvent): boolean {
    switch (event.type) {
      case 'reset':
        this.instances.clear();
        for (const instance of event.instances) this.instances.set(instance.id, instance);
        this.policies = new Map((event.policies ?? []).map((policy) => [policy.service, policy]));
        this.kindPolicies = kindPolicyMaps(event.kindPolicies ?? []);
        this.version = event.version;
        this.haveState = true;
        return true;
      case 'upsert':
        // A change at or below our version is one we already hold (an overlap when resuming).
        if (this.haveState && event.version <= this.version) return false;
        this.instances.set(event.instance.id, event.instance);
        this.version = event.version;
        this.haveState = true;
        return true;
      case 'remove':
        if (this.haveState && event.version <= this.version) return false;
        this.instances.delete(event.id);
        this.version = event.version;
        this.haveState = true;
        return true;
      case 'policy':
      case 'policy-remove': {
        if (this.haveState && event.version <= this.version) return false;
        const next = new Map(this.policies);
        if (event.type === 'policy') next.set(event.policy.service, event.policy);
        else next.delete(event.service);
        this.policies = next;
        this.version = event.version;
        this.haveState = true;
        return true;
      }
      case 'kind-policy':
      case 'kind-policy-remove': {
        if (this.haveState && event.version <= this.version) return false;
        this.kindPolicies =
          event.type === 'kind-policy'
            ? withKindPolicy(this.kindPolicies, event.policy.kind, event.policy.service, event.policy)
            : withKindPolicy(this.kindPolicies, event.kind, event.service, undefined);
        this.version = event.version;
        this.haveState = true;
        return true;
      }
      case 'ping':
        return false;
    }
  }

  private publish(): void {
    // Built over the last one, so a service this change did not touch keeps its endpoint array (and its balancer's work).
    const snapshot = snapshotFromInstances(this.version, this.instances.values(), this.policies, this.kindPolicies, this.channel.current());
    this.metrics.snapshotVersion.set(snapshot.version);
    this.channel.publish(snapshot);
    this.resolveReady();
  }

  private recovered(connection: Connection): void {
    this.backoff.reset();
    this.failedInRound = 0;
    if (this.outage) {
      this.outage = false;
      this.runtime.logger.info({ url: connection.origin, since: connection.since, version: this.version }, 'watch: connected to control plane again');
    }
  }

  private fail(connection: Connection, reason: string): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.teardown(connection);
    this.setConnected(false);
    if (this.closed) return;
    // Round-robin: the next replica at once; a pause only after every replica failed in turn.
    this.failedInRound++;
    const roundDone = this.failedInRound >= this.replicas.size;
    if (roundDone) this.failedInRound = 0;
    const delay = roundDone ? this.backoff.next() : 0;
    const next = this.replicas.size > 1 ? this.replicas.bases[this.replicas.advance()]!.origin : connection.origin;
    if (!this.outage) {
      this.outage = true;
      this.runtime.logger.warn(
        { url: connection.origin, next, reason, version: this.version },
        'watch: lost the control plane; serving the last snapshot and reconnecting',
      );
    } else {
      this.runtime.logger.debug({ url: connection.origin, next, reason, delayMs: Math.round(delay) }, 'watch: reconnect failed');
    }
    this.retryTimer = setTimeout(() => {
      this.metrics.reconnects.inc();
      this.connect();
    }, delay);
  }

  private teardown(connection: Connection): void {
    clearTimeout(connection.deadTimer);
    connection.decoder.reset();
    connection.request.destroy();
  }

  private setConnected(value: boolean): void {
    this.isConnected = value;
    this.metrics.connected.set(value ? 1 : 0);
  }
}
