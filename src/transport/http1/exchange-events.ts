// Transport/http1: the client-side event listeners of a server exchange, module functions that find it through a symbol, so requests create no closures.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http1ServerExchange } from './server-adapter.js';

const kExchange = Symbol('weft.exchange');
interface Tagged {
  [kExchange]?: Http1ServerExchange;
}

/** Marks an emitter (the client's request or response) as belonging to an exchange. */
export function tag(emitter: object, exchange: Http1ServerExchange): void {
  (emitter as Tagged)[kExchange] = exchange;
}

function exchangeOf(emitter: object): Http1ServerExchange | undefined {
  return (emitter as Tagged)[kExchange];
}

export function onClientDrain(this: ServerResponse): void {
  exchangeOf(this)?.onClientDrain();
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
