// Transport: the client-side event listeners of a server exchange, module functions that find it through a symbol, so requests create no closures.
import type { ServerExchange } from './server-exchange.js';

const kExchange = Symbol('weft.exchange');
interface Tagged {
  [kExchange]?: ServerExchange;
}

/** Marks an emitter (the client's request, response or stream) as belonging to an exchange. */
export function tag(emitter: object, exchange: ServerExchange): void {
  (emitter as Tagged)[kExchange] = exchange;
}

/** The exchange an emitter was tagged with. */
export function exchangeOf(emitter: object): ServerExchange | undefined {
  return (emitter as Tagged)[kExchange];
}

export function onClientDrain(this: object): void {
  exchangeOf(this)?.onClientDrain();
}

export function onClientData(this: object, chunk: Buffer): void {
  exchangeOf(this)?.onClientData(chunk);
}

export function onClientEnd(this: object): void {
  exchangeOf(this)?.onClientEnd();
}

export function onClientClose(this: object): void {
  exchangeOf(this)?.onClientClose();
}
