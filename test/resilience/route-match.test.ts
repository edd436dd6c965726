import { describe, it, expect } from 'vitest';
import { RouteTable, type RouteMatch } from '../../src/resilience/index.js';

const routes: { name: string; match: RouteMatch }[] = [
  { name: 'canary', match: { headers: { 'X-Canary': '1' } } },
  { name: 'api-beta', match: { pathPrefix: '/api', headers: { 'x-beta': 'yes' } } },
  { name: 'api', match: { pathPrefix: '/api' } },
  { name: 'root', match: { pathPrefix: '/' } },
];

describe('route matching', () => {
  const table = new RouteTable(routes);

  it('takes the first route whose headers and path prefix match', () => {
    expect(table.match('/hello', { 'x-canary': '1' })?.name).toBe('canary');
    expect(table.match('/api/users', { 'x-canary': '1' })?.name).toBe('canary');
    expect(table.match('/api/users', { 'x-beta': 'yes' })?.name).toBe('api-beta');
    expect(table.match('/api/users', { 'x-beta': 'no' })?.name).toBe('api');
    expect(table.match('/api?x=1', {})?.name).toBe('api');
    expect(table.match('/hello', { 'x-canary': '2' })?.name).toBe('root');
    expect(table.size).toBe(4);
  });

  it('matches header values exactly, on any of repeated values, and header names in any case', () => {
    expect(table.match('/x', { 'x-canary': '10' })?.name).toBe('root');
    expect(table.match('/x', { 'x-canary': ['0', '1'] })?.name).toBe('canary');
    expect(table.match('/x', { 'x-canary': undefined })?.name).toBe('root');
  });

  it('returns undefined when no route matches; a route without match takes everything', () => {
    const narrow = new RouteTable([{ match: { pathPrefix: '/only' } }]);
    expect(narrow.match('/other', {})).toBeUndefined();
    const open = new RouteTable<{ id: number; match?: RouteMatch }>([{ id: 1 }]);
    expect(open.match('/anything', {})?.id).toBe(1);
    expect(new RouteTable([]).match('/', {})).toBeUndefined();
  });
});
