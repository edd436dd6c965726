// Balance: the table of balancer factories has exactly one entry per algorithm name of the model, and createBalancer builds from it.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/core/index.js';
import { BALANCER_KIND_NAMES, balancerKindSchema, parsePolicy, type BalancerKind } from '../../src/model/index.js';
import {
  BALANCER_TABLE,
  createBalancer,
  LeastConnectionsBalancer,
  P2cEwmaBalancer,
  RandomBalancer,
  RingHashBalancer,
  RoundRobinBalancer,
  WeightedBalancer,
  type BalancerFactory,
} from '../../src/balance/index.js';

const EXPECTED: Record<BalancerKind, abstract new (...args: never[]) => unknown> = {
  'round-robin': RoundRobinBalancer,
  random: RandomBalancer,
  'least-connections': LeastConnectionsBalancer,
  'p2c-ewma': P2cEwmaBalancer,
  weighted: WeightedBalancer,
  'ring-hash': RingHashBalancer,
};

describe('balancer table', () => {
  it('has one factory per algorithm name, and no other', () => {
    expect(Object.keys(BALANCER_TABLE).sort()).toEqual([...BALANCER_KIND_NAMES].sort());
  });

  it.each(BALANCER_KIND_NAMES)('createBalancer("%s") builds that algorithm', (kind) => {
    expect(createBalancer(kind, seededRng(1), 'greeter')).toBeInstanceOf(EXPECTED[kind]);
  });

  it('is typed so that a missing algorithm does not compile', () => {
    const { 'ring-hash': _dropped, ...rest } = BALANCER_TABLE;
    // @ts-expect-error ring-hash has no factory
    const incomplete: { readonly [K in BalancerKind]: BalancerFactory } = rest;
    expect(Object.keys(incomplete)).not.toContain('ring-hash');
  });

  it('takes the same names in policies and config files as the table holds', () => {
    for (const kind of BALANCER_KIND_NAMES) {
      expect(balancerKindSchema.parse(kind)).toBe(kind);
      const hashOn = kind === 'ring-hash' ? { hashOn: { header: 'x-user' } } : {};
      expect(parsePolicy({ service: 'greeter', loadBalancer: { algorithm: kind, ...hashOn } }).loadBalancer.algorithm).toBe(kind);
    }
    expect(balancerKindSchema.safeParse('least-request').error?.issues[0]?.message).toBe(`expected one of: ${BALANCER_KIND_NAMES.join(', ')}`);
  });
});
