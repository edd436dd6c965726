// Test support for the request path without sockets: a fake client side, a recording handler, a scripted inner Dispatch, and a quiet runtime on a ManualClock.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { CANCELLED, ManualClock, seededRng, WeftError, type Clock, type Rng, type Runtime } from '../../src/core/index.js';
import {
  MeshRequest,
  RequestFacts,
  type BodyState,
  type Cancellable,
  type Dispatch,
  type Downstream,
  type FlowControl,
  type HeaderMap,
  type RawHeaders,
  type RequestBody,
  type ResponseHandler,
} from '../../src/http/index.js';
import { endpointFromInstance, parsePolicy, type Endpoint, type Instance, type ServicePolicyInput } from '../../src/model/index.js';
import { UpstreamPolicy, type SidecarDefaults, type SubsetTarget, type UpstreamPolicyDeps } from '../../src/outbound/index.js';
import type { ProxyMetrics } from '../../src/telemetry/index.js';

// The client side.

/** A client side with set headers and address; `written` stands for the bytes the front door wrote so far. */
export class FakeDownstream implements Downstream {
  remoteAddress: string | undefined = '10.0.0.7';
  remotePort: number | undefined = 40_000;
  written = 0;

  constructor(readonly headers: Record<string, string | string[]> = {}) {}

  headerMap(): HeaderMap {
    return this.headers;
  }

  bytesWritten(): number {
    return this.written;
  }
}

/** A request body whose state a test sets; counts what the stages asked of it. */
export class FakeBody implements RequestBody {
  current: BodyState = 'untouched';
  complete = false;
  opened = 0;
  released = 0;
  discarded = 0;

  constructor(readonly content: Buffer = Buffer.from('payload')) {}

  state(): BodyState {
    return this.current;
  }

  open(): Buffer {
    this.opened++;
    return this.content;
  }

  release(): void {
    this.released++;
  }

  discard(): void {
    this.discarded++;
  }
}

export interface MeshRequestOptions {
  readonly clock: Clock;
  readonly method?: string;
  readonly authority?: string;
  readonly path?: string;
  /** In the case given; the downstream's map has them lower-cased. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody | null;
  readonly downstream?: FakeDownstream;
}

/** A request as a front door makes it, arrived at `clock.now()`. */
export function meshRequest(options: MeshRequestOptions): MeshRequest {
  const raw: RawHeaders = [];
  const map: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    raw.push(name, value);
    map[name.toLowerCase()] = value;
  }
  const downstream = options.downstream ?? new FakeDownstream(map);
  return new MeshRequest(options.method ?? 'GET', options.authority ?? 'greeter', options.path ?? '/', raw, options.body ?? null, downstream, new RequestFacts(options.clock.now()));
}

/** The values of a header in a raw list, in order. */
export function headerValues(raw: readonly string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === lower) out.push(raw[i + 1]!);
  return out;
}

// The answer.

export type HandlerEvent =
  | { readonly kind: 'start'; readonly status: number; readonly headers: RawHeaders }
  | { readonly kind: 'data'; readonly chunk: string }
  | { readonly kind: 'end'; readonly trailers: RawHeaders | null }
  | { readonly kind: 'error'; readonly code: string };

/** The top of a stack in a test: records every call in order and counts the last ones (exactly one of end and error is owed). */
export class RecordingHandler implements ResponseHandler {
  readonly events: HandlerEvent[] = [];
  flow: FlowControl | null = null;
  ends = 0;
  errors = 0;
  lastError: WeftError | null = null;
  /** What onData returns: false asks the producer to pause. */
  accepting = true;
  private resolveDone!: () => void;
  /** Settles at the first onEnd or onError. */
  readonly done: Promise<void> = new Promise((resolve) => (this.resolveDone = resolve));

  onStart(status: number, headers: RawHeaders, flow: FlowControl): void {
    this.flow = flow;
    this.events.push({ kind: 'start', status, headers });
  }

  onData(chunk: Buffer): boolean {
    this.events.push({ kind: 'data', chunk: chunk.toString() });
    return this.accepting;
  }

  onEnd(trailers: RawHeaders | null): void {
    this.ends++;
    this.events.push({ kind: 'end', trailers });
    this.resolveDone();
  }

  onError(error: WeftError): void {
    this.errors++;
    this.lastError = error;
    this.events.push({ kind: 'error', code: error.code });
    this.resolveDone();
  }

  /** onEnd and onError calls together: 1 for every request that is over. */
  get finals(): number {
    return this.ends + this.errors;
  }

  /** The status passed up, or undefined before one. */
  get status(): number | undefined {
    for (const event of this.events) if (event.kind === 'start') return event.status;
    return undefined;
  }

  get body(): string {
    return this.events.map((event) => (event.kind === 'data' ? event.chunk : '')).join('');
  }

  /** The kinds of the calls in order, the status or code beside them: `start 200`, `data`, `end`, `error CANCELLED`. */
  get trace(): string[] {
    return this.events.map((event) => (event.kind === 'start' ? `start ${event.status}` : event.kind === 'error' ? `error ${event.code}` : event.kind));
  }
}

/** The FlowControl a fake producer hands up: counts drop() and resume(). */
export class RecordingFlow implements FlowControl {
  drops = 0;
  resumes = 0;

  drop(): void {
    this.drops++;
  }

  resume(): void {
    this.resumes++;
  }
}

// The scripted inner dispatch.

export interface AnswerStep {
  readonly status: number;
  readonly headers?: RawHeaders;
  readonly body?: readonly string[];
  readonly trailers?: RawHeaders | null;
  /** Broken off after the head and body instead of ending. */
  readonly breakWith?: WeftError;
}

/** How the inner dispatch treats one call: answer it at once, fail it at once, or hold it until the test settles it. */
export type Step = { readonly answer: AnswerStep } | { readonly fail: WeftError } | { readonly hold: true };

export const answer = (status: number, rest: Omit<AnswerStep, 'status'> = {}): Step => ({ answer: { status, ...rest } });
export const failWith = (error: WeftError): Step => ({ fail: error });
export const hold: Step = { hold: true };

/** One call the scripted dispatch received: what the attempt looked like then, and the means to answer a held one. */
export class ScriptedCall implements Cancellable {
  readonly attempt: number;
  readonly headers: RawHeaders;
  readonly attemptTimeoutMs: number;
  readonly exclude: readonly string[];
  readonly endpoint: Endpoint | null;
  readonly flow = new RecordingFlow();
  /** The stage the call went to (the label of `dispatchAs`), '' for the plain dispatch. */
  readonly label: string;
  cancelled = false;
  private over = false;

  constructor(
    readonly req: MeshRequest,
    readonly handler: ResponseHandler,
    label: string,
  ) {
    this.attempt = req.attempt;
    this.headers = req.headers.slice();
    this.attemptTimeoutMs = req.attemptTimeoutMs;
    this.exclude = req.exclude === undefined ? [] : [...req.exclude].sort();
    this.endpoint = req.endpoint;
    this.label = label;
  }

  /** Whether the response may still be delivered: not dropped, cancelled, or finished. */
  get live(): boolean {
    return !this.over && !this.cancelled && this.flow.drops === 0;
  }

  /** Status and headers, then the body and the end (or the break), each only while nobody dropped the response. */
  answer(step: AnswerStep): void {
    this.start(step.status, step.headers ?? []);
    for (const chunk of step.body ?? []) this.data(chunk);
    if (step.breakWith !== undefined) this.fail(step.breakWith);
    else this.end(step.trailers ?? null);
  }

  start(status: number, headers: RawHeaders = []): void {
    if (this.live) this.handler.onStart(status, headers, this.flow, '');
  }

  data(chunk: string): void {
    if (this.live) this.handler.onData(Buffer.from(chunk));
  }

  end(trailers: RawHeaders | null = null): void {
    if (!this.live) return;
    this.finish();
    this.handler.onEnd(trailers);
  }

  fail(error: WeftError): void {
    if (!this.live) return;
    this.finish();
    this.handler.onError(error);
  }

  /** Cancellable: the client left while the call was held, reported as a real adapter does. */
  cancel(): void {
    if (!this.live) return;
    this.cancelled = true;
    this.finish();
    this.handler.onError(CANCELLED);
  }

  private finish(): void {
    this.over = true;
    if (this.req.pending === this) this.req.pending = null;
  }
}

export interface ScriptedDispatchOptions {
  /**
   * Act as the concrete stage does before its endpoint stage: pick the first of these endpoints not in `req.exclude`
   * (the first of all when every one is), set req.endpoint and facts.endpoint, and count the attempt in facts.attempts.
   */
  readonly endpoints?: readonly Endpoint[];
}

/**
 * The fake inner Dispatch: each call takes the next step of the script. A call past the end of the script fails with
 * INTERNAL ("script exhausted"), so a test that counts calls sees the extra one.
 */
export class ScriptedDispatch {
  readonly calls: ScriptedCall[] = [];
  readonly dispatch: Dispatch;
  private readonly steps: Step[];

  constructor(
    steps: readonly Step[],
    private readonly options: ScriptedDispatchOptions = {},
  ) {
    this.steps = [...steps];
    this.dispatch = this.dispatchAs('');
  }

  /** The same script behind a stage named `label` (one subset of a split, say): its calls carry the label. */
  dispatchAs(label: string): Dispatch {
    return (req, handler) => this.receive(req, handler, label);
  }

  call(index: number): ScriptedCall {
    const call = this.calls[index];
    if (call === undefined) throw new Error(`no call ${index}: ${this.calls.length} made`);
    return call;
  }

  labels(): string[] {
    return this.calls.map((call) => call.label);
  }

  private receive(req: MeshRequest, handler: ResponseHandler, label: string): void {
    const endpoints = this.options.endpoints;
    if (endpoints !== undefined && endpoints.length > 0) {
      const endpoint = endpoints.find((e) => req.exclude === undefined || !req.exclude.has(e.id)) ?? endpoints[0]!;
      req.endpoint = endpoint;
      req.facts.endpoint = endpoint;
      req.facts.attempts = req.attempt;
    }
    const call = new ScriptedCall(req, handler, label);
    this.calls.push(call);
    const step = this.steps.shift() ?? failWith(new WeftError('INTERNAL', 'script exhausted'));
    if ('answer' in step) call.answer(step.answer);
    else if ('fail' in step) call.fail(step.fail);
    else req.pending = call;
  }
}

// Endpoints, runtime, metrics.

/** An endpoint of "greeter" as the snapshot makes it. */
export function fakeEndpoint(id: string, options: Partial<Instance> = {}): Endpoint {
  return endpointFromInstance({ id, service: 'greeter', host: '10.1.0.1', port: 8080, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing', ...options });
}

/** An Rng that returns the given values in turn, over and over. */
export function cyclingRng(values: readonly number[]): Rng {
  let i = 0;
  return { next: () => values[i++ % values.length]! };
}

export interface ManualRuntime extends Runtime {
  readonly clock: ManualClock;
}

/** A runtime that logs nothing, keeps metrics in a fresh registry, and moves in time only when the test advances its clock. */
export function manualRuntime(options: { seed?: number; rng?: Rng; start?: number } = {}): ManualRuntime {
  return {
    clock: new ManualClock(options.start ?? 1_000),
    rng: options.rng ?? seededRng(options.seed ?? 7),
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
  };
}

export interface Series {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** Every series of a metric family in the registry (collected first, as a scrape would); none when it is not registered. */
export async function seriesOf(registry: Registry, name: string): Promise<Series[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const got = await metric.get();
  return got.values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

/** The value of the series of `name` whose labels are exactly `labels`; 0 when there is none. */
export async function seriesValue(registry: Registry, name: string, labels: Readonly<Record<string, string>>): Promise<number> {
  const wanted = Object.entries(labels);
  for (const series of await seriesOf(registry, name)) {
    const keys = Object.keys(series.labels);
    if (keys.length === wanted.length && wanted.every(([k, v]) => String(series.labels[k]) === v)) return series.value;
  }
  return 0;
}

// Policies of "greeter".

export type PolicyInput = Omit<ServicePolicyInput, 'service'>;

/** The sidecar's own settings where a service has no policy. */
export const SIDECAR_DEFAULTS: SidecarDefaults = { balancer: 'round-robin', responseTimeoutMs: 15_000, maxAttempts: 3 };

/** "greeter"'s policy compiled as the outbound stack does, each subset's concrete stage made by `concrete`; undefined input: no policy. */
export function compilePolicy(runtime: Runtime, metrics: ProxyMetrics, input: PolicyInput | undefined, concrete: UpstreamPolicyDeps['concrete']): UpstreamPolicy {
  const source = input === undefined ? undefined : parsePolicy({ ...input, service: 'greeter' });
  return new UpstreamPolicy(source, { runtime, service: 'greeter', defaults: SIDECAR_DEFAULTS, metrics: metrics.policy('greeter'), concrete });
}

/** A subset target by its selector: `all`, or `version=v2` (entries sorted, joined by commas). */
export function subsetLabel(target: SubsetTarget): string {
  const entries = Object.entries(target.subset).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? 'all' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}
