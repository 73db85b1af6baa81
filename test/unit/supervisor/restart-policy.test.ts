import { describe, expect, it } from 'vitest';
import {
  RestartPolicySchema,
  backoffDelayMs,
  classifyExit,
  decideRestart,
  stability,
  type ExitInfo,
  type FailureHistory,
  type RestartPolicy,
} from '../../../lib/supervisor/restart-policy.js';

const policy = (over: Partial<RestartPolicy> = {}): RestartPolicy => RestartPolicySchema.parse({ backoffJitter: 0, ...over });
const crash = (over: Partial<ExitInfo> = {}): ExitInfo => ({ code: 1, signal: null, isKnown: true, uptimeMs: 5000, isEarly: false, ...over });
const fresh = (): FailureHistory => ({ failTimesMs: [], consecutive: 0 });

describe('restart-policy', () => {
  it('follows initial * factor^(n-1) capped at the cap', () => {
    const p = policy({ backoffInitialMs: 100, backoffFactor: 2, backoffCapMs: 1000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, p))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('produces the backoff sequence then CRASHED when the budget is spent', () => {
    const p = policy({ backoffInitialMs: 100, backoffFactor: 2, backoffCapMs: 1000, maxRestarts: 4, windowMs: 60_000 });
    let h = fresh();
    let now = 1_000_000;
    const delays: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = decideRestart(h, crash({ uptimeMs: 10, isEarly: true }), p, now);
      h = last.history;
      if (last.action === 'restart') delays.push(last.delayMs);
      now += last.delayMs + 10;
    }
    expect(delays).toEqual([100, 200, 400, 800]);
    expect(last?.action).toBe('crash');
  });

  it('keeps jitter within bounds and under the cap', () => {
    const p = policy({ backoffInitialMs: 1000, backoffFactor: 1, backoffJitter: 0.1, backoffCapMs: 1050 });
    const lo = decideRestart(fresh(), crash(), p, 0, () => 0).delayMs;
    const hi = decideRestart(fresh(), crash(), p, 0, () => 0.999999).delayMs;
    expect(lo).toBe(900);
    expect(hi).toBe(1050);
  });

  it('counts failures inside the window only (a late crash still ends CRASHED)', () => {
    // The PM2 case: crashes right after min uptime are still counted.
    const p = policy({ maxRestarts: 2, windowMs: 10_000, minUptimeMs: 1000, backoffInitialMs: 0 });
    let h = fresh();
    const actions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const d = decideRestart(h, crash({ uptimeMs: 1500 }), p, 1000 + i * 2000);
      h = d.history;
      actions.push(d.action);
    }
    expect(actions).toEqual(['restart', 'restart', 'crash']);
    // Spread out beyond the window: never crashes.
    h = fresh();
    const spread: string[] = [];
    for (let i = 0; i < 5; i++) {
      const d = decideRestart(h, crash({ uptimeMs: 1500 }), p, 1000 + i * 20_000);
      h = d.history;
      spread.push(d.action);
    }
    expect(spread.every((a) => a === 'restart')).toBe(true);
  });

  it('resets the streak after stable uptime', () => {
    const p = policy({ backoffInitialMs: 100, backoffFactor: 2, resetAfterMs: 30_000, maxRestarts: null });
    let h: FailureHistory = { failTimesMs: [], consecutive: 5 };
    const d = decideRestart(h, crash({ uptimeMs: 40_000 }), p, 100_000);
    expect(d.history.consecutive).toBe(1);
    expect(d.delayMs).toBe(100);
    h = { failTimesMs: [], consecutive: 5 };
    expect(decideRestart(h, crash({ uptimeMs: 1000 }), p, 100_000).delayMs).toBe(3200);
  });

  it('never restarts exit code 78', () => {
    const d = decideRestart(fresh(), crash({ code: 78 }), policy(), 0);
    expect(d.action).toBe('crash');
    expect(d.classification).toBe('config_error');
  });

  it('settles a clean exit under on-failure and restarts it under always', () => {
    expect(decideRestart(fresh(), crash({ code: 0 }), policy({ mode: 'on-failure' }), 0).action).toBe('settle');
    const always = decideRestart(fresh(), crash({ code: 0 }), policy({ mode: 'always' }), 0);
    expect(always.action).toBe('restart');
    expect(always.history.failTimesMs).toEqual([]);
  });

  it('treats an early clean exit as a failure', () => {
    expect(classifyExit(crash({ code: 0, isEarly: true }), policy())).toBe('failure');
    expect(decideRestart(fresh(), crash({ code: 0, isEarly: true }), policy({ mode: 'on-failure' }), 0).action).toBe('restart');
  });

  it('settles everything under never', () => {
    expect(decideRestart(fresh(), crash(), policy({ mode: 'never' }), 0).action).toBe('settle');
  });

  it('classifies an unknown exit as vanished and can skip the charge', () => {
    const d = decideRestart(fresh(), crash({ isKnown: false, code: null, isCharged: false }), policy(), 0);
    expect(d.classification).toBe('vanished');
    expect(d.history.failTimesMs).toEqual([]);
    expect(d.action).toBe('restart');
  });

  it('restarts at once when the initial backoff is 0', () => {
    expect(decideRestart(fresh(), crash(), policy({ backoffInitialMs: 0 }), 0).delayMs).toBe(0);
  });

  it('computes HostManager stability', () => {
    expect(stability([], 0)).toBe(1);
    expect(stability([0], 10_000)).toBeCloseTo(0.5);
    expect(stability([0], 200_000)).toBe(1);
  });
});
