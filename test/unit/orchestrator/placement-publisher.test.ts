import { describe, expect, it } from 'vitest';
import { PlacementPublisher, type PlacementBody } from '../../../lib/orchestrator/placement-publisher.js';

const BODY: PlacementBody = {
  node: 'h1',
  incarnation: 1,
  config_hash: 'x',
  frozen: false,
  leaving: false,
  maintenance_until: null,
  services: {},
  frozen_services: [],
  service_hashes: {},
  intents: {},
  clears: {}, restarts: {},
};

describe('PlacementPublisher', () => {
  it('publishes on a change at once, else every interval, numbering and stamping each message', () => {
    const p = new PlacementPublisher(2000, () => 0.25);
    expect(p.next(BODY, 10_000, false)).toMatchObject({ seq: 1, time: 10, load1: 0.25 });
    expect(p.next(BODY, 11_000, false)).toBeNull();
    expect(p.next({ ...BODY, frozen: true }, 11_500, false)).toMatchObject({ seq: 2, frozen: true });
    expect(p.next({ ...BODY, frozen: true }, 13_499, false)).toBeNull();
    expect(p.next({ ...BODY, frozen: true }, 13_500, false)).toMatchObject({ seq: 3 });
    expect(p.next({ ...BODY, frozen: true }, 13_600, true)).toMatchObject({ seq: 4 });
  });
});
