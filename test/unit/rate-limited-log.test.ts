import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../lib/clock.js';
import { RateLimitedLog } from '../../lib/rate-limited-log.js';
import { recordingLogger } from './registry/recording-logger.js';

describe('RateLimitedLog', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  describe('drops style', () => {
    it('warns at once, then once per interval with the count of drops in between', async () => {
      const logger = recordingLogger();
      const warner = new RateLimitedLog({ clock: systemClock, logger, intervalMs: 1000, message: 'dropped' });
      warner.note('junk', { agent_address: 'a' });
      for (let i = 0; i < 5; i++) warner.note('junk', { agent_address: `b${i}` });
      expect(logger.at('warn')).toEqual([{ level: 'warn', msg: 'dropped', fields: { agent_address: 'a', reason: 'junk', dropped: 1, dropped_total: 1 } }]);
      await vi.advanceTimersByTimeAsync(999);
      expect(logger.at('warn')).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(logger.at('warn')[1]?.fields).toEqual({ agent_address: 'b4', reason: 'junk', dropped: 5, dropped_total: 6 });
      await vi.advanceTimersByTimeAsync(5000);
      expect(logger.at('warn')).toHaveLength(2);
      warner.note('junk');
      expect(logger.at('warn')[2]?.fields).toEqual({ reason: 'junk', dropped: 1, dropped_total: 7 });
      expect(warner.totals()).toEqual({ junk: 7 });
    });

    it('keeps to one line per interval under a sustained flood (the summary opens the next interval)', async () => {
      const logger = recordingLogger();
      const warner = new RateLimitedLog({ clock: systemClock, logger, intervalMs: 1000, message: 'dropped' });
      for (let ms = 0; ms < 3000; ms += 10) {
        warner.note('junk');
        await vi.advanceTimersByTimeAsync(10);
      }
      warner.close();
      const lines = logger.at('warn');
      expect(lines.length).toBeLessThanOrEqual(4);
      expect(lines.reduce((n, l) => n + (l.fields['dropped'] as number), 0)).toBeLessThanOrEqual(300);
      expect(warner.totals()).toEqual({ junk: 300 });
    });

    it('limits each reason separately', () => {
      const logger = recordingLogger();
      const warner = new RateLimitedLog({ clock: systemClock, logger, intervalMs: 1000, message: 'dropped' });
      for (let i = 0; i < 3; i++) {
        warner.note('a');
        warner.note('b');
      }
      expect(logger.at('warn').map((w) => w.fields['reason'])).toEqual(['a', 'b']);
      warner.close();
      expect(warner.totals()).toEqual({ a: 3, b: 3 });
    });

    it('refuses to be made without the message its lines carry', () => {
      expect(() => new RateLimitedLog({ clock: systemClock, logger: recordingLogger() })).toThrow(/needs a message/);
    });
  });

  describe('summary style', () => {
    it('logs the first lines of a kind, then one summary of the rest when the interval ends', async () => {
      const logger = recordingLogger();
      const budget = new RateLimitedLog({ clock: systemClock, logger, style: 'summary', intervalMs: 10_000, burst: 3 });
      for (let i = 0; i < 10; i++) budget.note('agent appeared', { agent_address: `observatory.a${i}` });
      budget.note('agent expired', { agent_address: 'observatory.x' });
      expect(logger.at('info').map((e) => [e.msg, e.fields['agent_address']])).toEqual([
        ['agent appeared', 'observatory.a0'],
        ['agent appeared', 'observatory.a1'],
        ['agent appeared', 'observatory.a2'],
        ['agent expired', 'observatory.x'],
      ]);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(logger.at('info').at(-1)).toMatchObject({ msg: 'agent appeared (more, not logged one by one)', fields: { not_logged: 7 } });
      // a new interval has a new budget
      budget.note('agent appeared', { agent_address: 'observatory.b' });
      expect(logger.at('info').at(-1)).toMatchObject({ msg: 'agent appeared', fields: { agent_address: 'observatory.b' } });
      budget.close();
    });
  });
});
