// Outbound: the endpoint stage of one service — a connection pool per endpoint, dialled in plaintext or with mTLS as the service's mode says.
import type { Runtime } from '../core/index.js';
import type { Dispatch, MeshRequest, ResponseHandler } from '../http/index.js';
import type { Endpoint, ServicePolicy } from '../model/index.js';
import { DIALLING_NOTES, NO_CERTIFICATE_YET, type Dialling, type MeshTls } from '../security/tls/index.js';
import { EndpointPools, type PoolOptions } from '../transport/index.js';

export interface EndpointStageOptions {
  readonly runtime: Runtime;
  readonly service: string;
  readonly connectTimeoutMs: number;
  readonly pool?: PoolOptions;
  /** How the service is dialled (its policy's mtls, else the mesh default); absent: plaintext always. */
  readonly mtls?: MeshTls;
  /** The service's policy now, whose mtls mode applies. */
  policySource(): ServicePolicy | undefined;
}

/**
 * Pools are per endpoint and stay, except when the way the service is dialled changes (plaintext, mTLS, or not at all
 * while a strict service waits for our first certificate): then every pool is replaced and the old ones retire
 * gracefully (requests on them finish, their idle sockets close).
 */
export class EndpointStage {
  readonly dispatch: Dispatch;
  pools: EndpointPools;
  /** How the current pools dial, and the MeshTls generation that was decided at. */
  private dialled: Dialling = 'plaintext';
  private tlsGeneration = -1;
  /** Addresses already reported as undialable: each is logged once, however often its pool is rebuilt. */
  private readonly undialable = new Set<string>();

  constructor(private readonly options: EndpointStageOptions) {
    this.pools = this.makePools();
    this.dispatch = (req, handler) => this.send(req, handler);
  }

  /** Replaces the pools when the service's mode or our identity changes how it is dialled. */
  applyTls(): void {
    const mtls = this.options.mtls;
    if (mtls === undefined) return;
    this.tlsGeneration = mtls.generation;
    const dialling = mtls.dialling(mtls.modeOf(this.options.policySource()));
    if (dialling === this.dialled) return;
    this.dialled = dialling;
    const previous = this.pools;
    this.pools = this.makePools();
    previous.retireAll();
    this.options.runtime.logger.info({ upstream: this.options.service, mtls: dialling === 'mtls', dialling }, `upstream ${DIALLING_NOTES[dialling]}`);
  }

  /** An endpoint whose address no socket can take is left out of balancing, as if it were failing its checks. */
  dialable(endpoint: Endpoint): boolean {
    if (endpoint.undialable === undefined) return true;
    this.warnUndialable(endpoint.address, endpoint.undialable);
    return false;
  }

  destroy(): void {
    this.pools.destroy();
  }

  private send(req: MeshRequest, handler: ResponseHandler): void {
    // The first certificate (or the mesh's default) arrives outside snapshots: one comparison tells.
    const mtls = this.options.mtls;
    if (mtls !== undefined && mtls.generation !== this.tlsGeneration) this.applyTls();
    this.pools.get(req.endpoint!).dispatch(req, handler);
  }

  private readonly warnUndialable = (address: string, reason: string): void => {
    if (this.undialable.has(address)) return;
    if (this.undialable.size < 1024) this.undialable.add(address);
    this.options.runtime.logger.warn({ upstream: this.options.service, reason }, 'an endpoint of this service cannot be dialled: no request goes to it');
  };

  private readonly logHandlerError = (error: unknown): void => {
    this.options.runtime.logger.error({ err: error, upstream: this.options.service }, 'a request-path stage threw while given a response; the attempt was given up');
  };

  private makePools(): EndpointPools {
    const { connectTimeoutMs, pool, mtls, runtime } = this.options;
    const options = { connectTimeoutMs, ...pool, clock: runtime.clock, onUndialable: this.warnUndialable, onHandlerError: this.logHandlerError };
    if (mtls === undefined || this.dialled === 'plaintext') return new EndpointPools(options);
    // Refused: each attempt fails as a connection would, so it is answered CONNECT_FAILED once no endpoint is left to try.
    return new EndpointPools(options, this.dialled === 'mtls' ? (endpoint) => mtls.connectorFor(endpoint) : () => NO_CERTIFICATE_YET);
  }
}
