// Transport/http1: the event listeners of an exchange, module functions that find it through a symbol, so attempts create no closures.
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Http1Exchange } from './exchange.js';

const kExchange = Symbol('weft.exchange');
interface Tagged {
  [kExchange]?: Http1Exchange;
}

/** Marks an emitter (request, response, upstream request or response) as belonging to an exchange. */
export function tag(emitter: object, exchange: Http1Exchange): void {
  (emitter as Tagged)[kExchange] = exchange;
}

function exchangeOf(emitter: object): Http1Exchange | undefined {
  return (emitter as Tagged)[kExchange];
}

export function onUpstreamSocket(this: ClientRequest, socket: Socket): void {
  const exchange = exchangeOf(this);
  if (exchange === undefined) return;
  if (!socket.connecting) {
    exchange.onConnected(this);
    return;
  }
  watchConnect(exchange, this, socket);
}

/** A fresh connection: rare with keep-alive pools, so closures here cost nothing that matters. */
export function watchConnect(exchange: Http1Exchange, up: ClientRequest, socket: Socket): void {
  const timer = setTimeout(() => exchange.onConnectTimeout(up), exchange.forwardOptions.connectTimeoutMs);
  socket.once('connect', () => {
    clearTimeout(timer);
    exchange.onConnected(up);
  });
  socket.once('close', () => clearTimeout(timer));
}

export function onUpstreamResponse(this: ClientRequest, upRes: IncomingMessage): void {
  exchangeOf(this)?.onResponse(this, upRes);
}

export function onUpstreamError(this: ClientRequest, err: NodeJS.ErrnoException): void {
  exchangeOf(this)?.onUpstreamError(this, err);
}

export function onUpstreamData(this: IncomingMessage, chunk: Buffer): void {
  exchangeOf(this)?.onUpstreamData(this, chunk);
}

export function onUpstreamEnd(this: IncomingMessage): void {
  const exchange = exchangeOf(this);
  if (exchange !== undefined && !exchange.finished) exchange.res.end();
}

export function onClientDrain(this: ServerResponse): void {
  exchangeOf(this)?.onClientDrain();
}

export function onUpstreamResponseError(this: IncomingMessage, err: Error): void {
  exchangeOf(this)?.onUpstreamResponseError(err);
}

export function onUpstreamDrain(this: ClientRequest): void {
  const exchange = exchangeOf(this);
  if (exchange !== undefined && !exchange.finished) exchange.req.resume();
}

export function onResponseTimeout(exchange: Http1Exchange, up: ClientRequest): void {
  exchange.onTimeout(up);
}

export function onClientData(this: IncomingMessage, chunk: Buffer): void {
  exchangeOf(this)?.onClientData(chunk);
}

export function onClientEnd(this: IncomingMessage): void {
  exchangeOf(this)?.onClientEnd();
}

export function onClientClose(this: ServerResponse): void {
  exchangeOf(this)?.onClientClose();
}
