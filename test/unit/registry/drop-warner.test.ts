import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { DropWarner } from '../../../lib/registry/drop-warner.js';
import { recordingLogger } from './recording-logger.js';

describe('DropWarner', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  it('warns at once, then once per interval with the count of drops in between', async () => {
    const logger = recordingLogger();
    const warner = new DropWarner({ clock: systemClock, logger, intervalMs: 1000, message: 'dropped' });
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

  it('limits each reason separately', () => {
    const logger = recordingLogger();
    const warner = new DropWarner({ clock: systemClock, logger, intervalMs: 1000, message: 'dropped' });
    for (let i = 0; i < 3; i++) {
      warner.note('a');
      warner.note('b');
    }
    expect(logger.at('warn').map((w) => w.fields['reason'])).toEqual(['a', 'b']);
    warner.close();
    expect(warner.totals()).toEqual({ a: 3, b: 3 });
  });
});
