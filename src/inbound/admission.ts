// Inbound: the admission stage — JWT authentication, then authorization, then rate limits, in Envoy's order, before the request reaches the app.
import { CANCELLED, type WeftError } from '../core/index.js';
import { asWeftError, type Cancellable, type Dispatch, type MeshRequest, type ResponseHandler } from '../http/index.js';
import { unauthenticatedError, type JwtAuthResult } from '../security/jwt/index.js';
import { SourceTable } from '../telemetry/index.js';
import type { AdmissionMetrics, RefusalCounts } from './admission-metrics.js';
import type { InboundAdmission } from './admission-policy.js';
import { withJwtHeaders } from './jwt-forward-headers.js';

/**
 * The checks are synchronous unless the service has a JwtPolicy: then a token is verified first (keys may have to be
 * fetched), and an unauthenticated request spends no rate-limit token. Refusals are errors handed to the edge.
 */
export class AdmissionStage {
  readonly dispatch: Dispatch;
  /** Refusal counters per calling service, bound like the other per-caller series. */
  private readonly refusals: SourceTable<RefusalCounts>;

  constructor(
    private readonly next: Dispatch,
    private readonly admission: InboundAdmission,
    readonly metrics: AdmissionMetrics,
  ) {
    this.refusals = new SourceTable((source) => metrics.forSource(source));
    this.dispatch = (req, handler) => {
      const jwt = this.admission.authenticator();
      if (jwt === null) this.admit(req, handler);
      else new TokenCheck(this, req, handler).start(jwt.authenticate(req.method, req.path, req.downstream.headerMap()));
    };
  }

  /** Authorization and rate limits, then the app. */
  admit(req: MeshRequest, handler: ResponseHandler): void {
    const refusal = this.admission.check(req.caller, req.method, req.path, req.headers);
    if (refusal === null) {
      this.next(req, handler);
      return;
    }
    const counts = this.refusals.of(req.facts.source);
    if (refusal.code === 'FORBIDDEN') counts.denied();
    else if (refusal.code === 'RATE_LIMITED') counts.limited();
    handler.onError(refusal);
  }
}

/** One request waiting for its token to be verified; the client may leave meanwhile. */
class TokenCheck implements Cancellable {
  private done = false;

  constructor(
    private readonly stage: AdmissionStage,
    private readonly req: MeshRequest,
    private readonly handler: ResponseHandler,
  ) {}

  start(result: Promise<JwtAuthResult>): void {
    this.req.pending = this;
    result.then(
      (outcome) => this.settle(outcome),
      (error: unknown) => this.refuse(asWeftError(error)),
    );
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.handler.onError(CANCELLED);
  }

  private settle(result: JwtAuthResult): void {
    if (this.done) return;
    this.done = true;
    if (this.req.pending === this) this.req.pending = null;
    if (!result.ok) {
      this.stage.metrics.jwtDenied(result.reason);
      this.handler.onError(unauthenticatedError(result));
      return;
    }
    // The app gets the verified claims, never client-set ones.
    this.req.headers = withJwtHeaders(this.req.headers, result);
    this.stage.admit(this.req, this.handler);
  }

  private refuse(error: WeftError): void {
    if (this.done) return;
    this.done = true;
    if (this.req.pending === this) this.req.pending = null;
    this.handler.onError(error);
  }
}
