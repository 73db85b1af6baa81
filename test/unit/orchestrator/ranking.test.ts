import { describe, expect, it } from 'vitest';
import { fnv1a, rankHosts } from '../../../lib/orchestrator/ranking.js';

describe('fnv1a', () => {
  it('matches the FNV-1a 32-bit reference values', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of non-ASCII text', () => {
    expect(fnv1a('é')).toBe(fnv1a('\u00e9'));
    expect(fnv1a('é')).not.toBe(fnv1a('e'));
  });
});

describe('rankHosts', () => {
  const hosts = ['h1', 'h2', 'h3', 'h4'];

  it('keeps the hosts order with nodes-order', () => {
    expect(rankHosts({ service: 'agg', hosts, placement: 'nodes-order' })).toEqual(hosts);
  });

  it('orders by FNV-1a of service/host with spread, the same on every call', () => {
    const order = rankHosts({ service: 'agg', hosts, placement: 'spread' });
    const expected = [...hosts].sort((a, b) => fnv1a(`agg/${a}`) - fnv1a(`agg/${b}`));
    expect(order).toEqual(expected);
    expect(rankHosts({ service: 'agg', hosts: [...hosts].reverse(), placement: 'spread' })).toEqual(expected);
  });

  it('spreads different services over different first hosts', () => {
    const firsts = new Set(Array.from({ length: 20 }, (_, i) => rankHosts({ service: `svc${i}`, hosts, placement: 'spread' })[0]));
    expect(firsts.size).toBeGreaterThan(1);
  });

  it('puts a relocate target first and keeps the others in order', () => {
    expect(rankHosts({ service: 'agg', hosts, placement: 'nodes-order', first: 'h3' })).toEqual(['h3', 'h1', 'h2', 'h4']);
    expect(rankHosts({ service: 'agg', hosts, placement: 'nodes-order', first: 'h9' })).toEqual(hosts);
  });
});
