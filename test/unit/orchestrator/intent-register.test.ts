import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import { IntentRegister } from '../../../lib/orchestrator/intent-register.js';

function register(node = 'h1'): IntentRegister {
  return new IntentRegister(node, { agg: 'started', db: 'stopped' }, silentLogger());
}

describe('IntentRegister', () => {
  it('a request takes a generation above every one seen; a newer register from a peer replaces it', () => {
    const r = register();
    r.request('agg', { op: 'stopped' }, 4);
    expect(r.intent('agg')).toMatchObject({ expect: 'stopped', gen: 5, by: 'h1' });
    r.adopt('agg', { ...r.intent('agg'), expect: 'started', op: 'started', gen: 5, by: 'h0' }, 'h0');
    expect(r.intent('agg').by).toBe('h1');
    r.adopt('agg', { ...r.intent('agg'), expect: 'started', op: 'started', gen: 6, by: 'h0' }, 'h0');
    expect(r.intent('agg')).toMatchObject({ expect: 'started', gen: 6, by: 'h0' });
  });

  it('emits freeze and thaw commands once per change, and a cluster thaw lifts a freeze made here', () => {
    const r = register();
    const slots = new Map([['agg', ['agg']], ['db', ['db']]]);
    expect(r.freezeChanges(slots)).toEqual([]);
    r.freezeHere('agg');
    expect(r.freezeChanges(slots)).toEqual([{ type: 'freeze', instanceId: 'agg', service: 'agg', reason: 'service frozen' }]);
    expect(r.freezeChanges(slots)).toEqual([]);
    r.request('agg', { op: 'thawed' }, 0);
    expect(r.isFrozenHere('agg')).toBe(false);
    expect(r.freezeChanges(slots)).toEqual([{ type: 'thaw', instanceId: 'agg', service: 'agg', reason: 'service thawed' }]);
  });

  it('acts on a clear for this host once, whoever asked for it; the greatest counter wins', () => {
    const r = register('h2');
    r.noteClear('agg', 'h2', r.nextClear('agg', 'h2'));
    r.noteClear('agg', 'h3', 5);
    expect(r.takeNewClears()).toEqual(['agg']);
    expect(r.takeNewClears()).toEqual([]);
    r.noteClear('agg', 'h2', 1);
    expect(r.takeNewClears()).toEqual([]);
    r.noteClear('agg', 'h2', 2);
    expect(r.takeNewClears()).toEqual(['agg']);
    expect(r.clearsRecord()).toEqual({ agg: { h2: 2, h3: 5 } });
  });

  it('restores freezes, intents and clears of declared services only', () => {
    const r = register();
    r.freezeHere('agg');
    r.request('db', { op: 'started' }, 0);
    r.noteClear('agg', 'h1', 3);
    r.takeNewClears();
    const snap = r.snapshot();
    const fresh = register();
    fresh.restore({ ...snap, frozen_services: [...snap.frozen_services, 'gone'], clears_handled: { ...snap.clears_handled, gone: 1 } });
    expect(fresh.snapshot()).toEqual(snap);
  });
});
