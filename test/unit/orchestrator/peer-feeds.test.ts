import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { silentLogger } from '../../../lib/log.js';
import { DEFAULT_ORCHESTRATOR_OPTIONS } from '../../../lib/orchestrator/orchestrator-types.js';
import { PeerFeeds } from '../../../lib/orchestrator/peer-feeds.js';

const T0 = 1_700_000_000_000;
const GRACE = DEFAULT_ORCHESTRATOR_OPTIONS.failoverGraceMs;

function message(node: string, seq: number, extra: Record<string, unknown> = {}) {
  return { node, incarnation: 1, seq, time: 1000 + seq, config_hash: 'x', frozen: false, maintenance_until: null, load1: null, services: {}, ...extra };
}

function feeds(): PeerFeeds {
  return new PeerFeeds('h1', ['h1', 'h2', 'h3'], systemClock, silentLogger(), DEFAULT_ORCHESTRATOR_OPTIONS);
}

describe('PeerFeeds', () => {
  it('takes new messages of known peers only: not its own, not late or repeated ones, not junk', () => {
    const f = feeds();
    expect(f.accept(message('h2', 2), T0)).not.toBeNull();
    expect(f.accept(message('h2', 2), T0)).toBeNull();
    expect(f.accept(message('h2', 1), T0)).toBeNull();
    expect(f.accept(message('h1', 9), T0)).toBeNull();
    expect(f.accept(message('h9', 1), T0)).toBeNull();
    expect(f.accept({ node: 'h2' }, T0)).toBeNull();
    // A new incarnation starts its own numbering.
    expect(f.accept(message('h2', 1, { incarnation: 2 }), T0)).not.toBeNull();
    f.close();
  });

  it('judges a peer dead after the grace period of not alive, and alive again at once', () => {
    const f = feeds();
    const listed = new Set(['h2', 'h3']);
    f.accept(message('h2', 1), T0);
    f.accept(message('h3', 1), T0);
    f.refresh(T0, null, (n) => listed.has(n));
    expect([f.isAlive('h2'), f.isDead('h2')]).toEqual([true, false]);
    listed.delete('h2');
    f.refresh(T0 + 1000, null, (n) => listed.has(n));
    expect([f.isAlive('h2'), f.isDead('h2')]).toEqual([false, false]);
    f.refresh(T0 + 1000 + GRACE - 1, null, (n) => listed.has(n));
    expect(f.isDead('h2')).toBe(false);
    f.refresh(T0 + 1000 + GRACE, null, (n) => listed.has(n));
    expect(f.isDead('h2')).toBe(true);
    listed.add('h2');
    f.accept(message('h2', 2), T0 + 1000 + GRACE);
    f.refresh(T0 + 1000 + GRACE, null, (n) => listed.has(n));
    expect([f.isAlive('h2'), f.isDead('h2')]).toEqual([true, false]);
    f.close();
  });

  it('judges nobody while blind, so the grace period starts again afterwards', () => {
    const f = feeds();
    f.refresh(T0, 'registry unavailable', () => false);
    f.refresh(T0 + 10 * GRACE, 'registry unavailable', () => false);
    expect(f.isDead('h2')).toBe(false);
    f.refresh(T0 + 10 * GRACE + 1, null, () => false);
    expect(f.isDead('h2')).toBe(false);
    f.refresh(T0 + 11 * GRACE, null, () => false);
    expect(f.isDead('h2')).toBe(true);
    f.close();
  });

  it('keeps a silent peer alive-but-not-dead through its announced maintenance window (in local time)', () => {
    const f = feeds();
    // Announced on its own clock: window ends 60 s after its message time, whatever that clock says.
    f.accept(message('h2', 1, { time: 5_000, maintenance_until: 5_060 }), T0);
    f.refresh(T0, null, () => false);
    f.refresh(T0 + GRACE + 1000, null, () => false);
    expect(f.isDead('h2')).toBe(false);
    f.refresh(T0 + 60_000, null, () => false);
    expect(f.isDead('h2')).toBe(true);
    f.close();
  });

  it('a feed older than the staleness limit makes a listed peer not alive; an unknown host is dead', () => {
    const f = feeds();
    f.accept(message('h2', 1), T0);
    f.refresh(T0 + DEFAULT_ORCHESTRATOR_OPTIONS.placementStaleMs, null, () => true);
    expect(f.isAlive('h2')).toBe(false);
    expect(f.isDead('h9')).toBe(true);
    f.close();
  });
});
