// Control: where the control plane may connect on an instance's behalf (Consul HTTP/TCP checks, stats scrapes) — the instance's own host, as the host policy allows it.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIPv6, type LookupFunction } from 'node:net';
import { isLoopbackAddress, printable, sameHost, type HostPolicy } from '../model/index.js';

/**
 * Why the control plane may not connect to `target` for the instance at `own` (a registry host: no brackets), or
 * undefined when it may: only the instance's own host (any port) is the instance, and that host must still be one
 * the host policy accepts (a record written by an older version, or under another policy, is checked again).
 */
export function ownHostRefusal(target: string, own: string, policy: HostPolicy): string | undefined {
  if (!sameHost(target, own)) return `expected the service's own address ${own} (any port), not ${printable(target)}`;
  return policy.refusal(own);
}

/** A loopback or unspecified IP literal: what a process advertises for a listener on loopback or on every interface. */
export function isLocalOnlyAddress(host: string): boolean {
  return isLoopbackAddress(host) || host === '0.0.0.0' || (isIPv6(host) && sameHost(host, '::'));
}

/**
 * A `lookup` for node:http and node:net that refuses a name resolving to an address the policy refuses: the name
 * was accepted at registration, but what it resolves to can change after (DNS rebinding onto a metadata address).
 */
export function policyLookup(policy: HostPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, options.all ? [] : '', 0);
      for (const { address } of addresses) {
        const refusal = policy.refusal(address);
        if (refusal !== undefined) return callback(Object.assign(new Error(`${hostname} resolves to ${address}: ${refusal}`), { code: 'EADDRREFUSED' }), options.all ? [] : '', 0);
      }
      const first = addresses[0];
      if (options.all) return callback(null, addresses);
      return first === undefined ? callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0) : callback(null, first.address, first.family);
    });
  };
}
