import { describe, expect, it } from 'vitest';
import { displayedExpect, initialIntent, isNewerIntent, requestIntent } from '../../../lib/orchestrator/service-intent.js';

describe('service intents', () => {
  const base = initialIntent('started');

  it('takes a generation above every one seen', () => {
    const next = requestIntent(base, { op: 'stopped' }, 'h2', 5);
    expect(next).toMatchObject({ expect: 'stopped', gen: 6, by: 'h2', op: 'stopped', settled: true });
    expect(isNewerIntent(next, base)).toBe(true);
    expect(isNewerIntent(base, next)).toBe(false);
  });

  it('orders concurrent requests by host name, then settled over pending', () => {
    const fromH1 = requestIntent(base, { op: 'placed' }, 'h1', 0);
    const fromH2 = requestIntent(base, { op: 'stopped' }, 'h2', 0);
    expect(fromH1.gen).toBe(fromH2.gen);
    expect(isNewerIntent(fromH2, fromH1)).toBe(true);
    expect(isNewerIntent({ ...fromH1, settled: true }, fromH1)).toBe(true);
    expect(isNewerIntent(fromH1, fromH1)).toBe(false);
  });

  it('keeps the run intent and a pending move across freeze and thaw', () => {
    const relocating = requestIntent(base, { op: 'relocate', to: 'h3' }, 'h1', 0);
    const frozen = requestIntent(relocating, { op: 'frozen' }, 'h1', 0);
    expect(frozen).toMatchObject({ frozen: true, move: { to: 'h3' }, settled: false, expect: 'started' });
    expect(displayedExpect(frozen)).toBe('frozen');
    const thawed = requestIntent(frozen, { op: 'thawed' }, 'h1', 0);
    expect(thawed).toMatchObject({ frozen: false, move: { to: 'h3' }, settled: false });
    expect(displayedExpect(requestIntent(thawed, { op: 'placed' }, 'h1', 0))).toBe('placed');
    expect(displayedExpect(requestIntent(thawed, { op: 'stopped' }, 'h1', 0))).toBe('stopped');
  });
});
