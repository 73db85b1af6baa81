import { describe, expect, it } from 'vitest';
import { parsePlacementMessage, MAX_PLACEMENT_ENTRIES } from '../../../lib/orchestrator/placement-message.js';
import { WampFloat } from '../../../lib/wamp/float.js';

const MESSAGE = {
  node: 'h1',
  incarnation: 1_700_000_000_123,
  seq: 4,
  time: 1_700_000_100.5,
  config_hash: '9f3a0c11',
  frozen: false,
  maintenance_until: null,
  load1: 0.4,
  services: { agg: { state: 'RUNNING', monitor: 'idle', epoch: 7, claim_at: 1_700_000_090.1 } },
};

describe('parsePlacementMessage', () => {
  it('accepts a message and fills the optional blocks', () => {
    const parsed = parsePlacementMessage(MESSAGE);
    expect(parsed).toEqual({
      ok: true,
      message: { ...MESSAGE, services: { agg: { ...MESSAGE.services.agg, restart: null } }, leaving: false, frozen_services: [], service_hashes: {}, intents: {}, clears: {}, restarts: {} },
    });
  });

  it("accepts the feed's [message, feed_encoded] pair and floats still wrapped by the codec", () => {
    const parsed = parsePlacementMessage([{ ...MESSAGE, time: new WampFloat(1_700_000_100), load1: new WampFloat(1) }, { agent_address: 'obs.hm-h1', feed_name: 'placement' }]);
    expect(parsed.ok && parsed.message.time).toBe(1_700_000_100);
    expect(parsed.ok && parsed.message.load1).toBe(1);
  });

  it.each([
    ['not an object', 'junk'],
    ['a missing node', { ...MESSAGE, node: undefined }],
    ['an unknown child state', { ...MESSAGE, services: { agg: { ...MESSAGE.services.agg, state: 'DANCING' } } }],
    ['an unknown monitor', { ...MESSAGE, services: { agg: { ...MESSAGE.services.agg, monitor: 'lurking' } } }],
    ['a negative epoch', { ...MESSAGE, services: { agg: { ...MESSAGE.services.agg, epoch: -1 } } }],
    ['a fractional seq', { ...MESSAGE, seq: 1.5 }],
    ['a bad intent', { ...MESSAGE, intents: { agg: { expect: 'maybe' } } }],
    ['a restart request that is not a token', { ...MESSAGE, restarts: { agg: 7 } }],
    ['too many services', { ...MESSAGE, services: Object.fromEntries(Array.from({ length: MAX_PLACEMENT_ENTRIES + 1 }, (_, i) => [`s${i}`, MESSAGE.services.agg])) }],
  ])('refuses %s', (_what, raw) => {
    const parsed = parsePlacementMessage(raw);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason.length).toBeGreaterThan(0);
  });
});
