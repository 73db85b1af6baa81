import { describe, expect, it } from 'vitest';
import { InvalidParamsError } from '../../../lib/errors.js';
import { nextFireMs, scheduleFromRequest, shouldRunFire, validateCron } from '../../../lib/supervisor/schedule.js';

const T0 = Date.UTC(2024, 2, 10, 12, 0, 0); // a Sunday, 12:00 UTC

describe('schedule', () => {
  it('computes the next cron fire strictly after the given time', () => {
    const s = scheduleFromRequest({ cron: '*/15 * * * *' }, T0);
    expect(nextFireMs(s, T0)).toBe(T0 + 15 * 60_000);
    expect(nextFireMs(s, T0 + 1)).toBe(T0 + 15 * 60_000);
    expect(nextFireMs(s, T0 + 15 * 60_000)).toBe(T0 + 30 * 60_000);
  });

  it('supports a seconds field and time zones', () => {
    expect(nextFireMs(scheduleFromRequest({ cron: '*/5 * * * * *' }, T0), T0 + 1000)).toBe(T0 + 5000);
    // 09:00 in Tokyo is 00:00 UTC.
    const tokyo = scheduleFromRequest({ cron: '0 9 * * *', tz: 'Asia/Tokyo' }, T0);
    expect(new Date(nextFireMs(tokyo, T0) ?? 0).toISOString()).toBe('2024-03-11T00:00:00.000Z');
  });

  it('never repeats a fire when the wall clock steps back', () => {
    const s = scheduleFromRequest({ cron: '0 * * * *' }, T0);
    const fired = T0 + 3600_000;
    // The clock stepped back an hour after the 13:00 fire: the next is 14:00, not 13:00 again.
    expect(nextFireMs(s, T0, fired)).toBe(T0 + 2 * 3600_000);
  });

  it('fires a one-shot once', () => {
    const s = scheduleFromRequest({ delayMs: 5000 }, T0);
    expect(s).toMatchObject({ kind: 'once', atMs: T0 + 5000, action: 'start' });
    expect(nextFireMs(s, T0)).toBe(T0 + 5000);
    expect(nextFireMs(s, T0, T0 + 5000)).toBeNull();
    expect(scheduleFromRequest({ atMs: T0 + 7 }, T0)).toMatchObject({ atMs: T0 + 7 });
  });

  it('applies the missed policy beyond the grace period', () => {
    const skip = scheduleFromRequest({ cron: '0 * * * *', missed: 'skip' }, T0);
    const once = scheduleFromRequest({ cron: '0 * * * *', missed: 'run_once' }, T0);
    expect(shouldRunFire(skip, T0, T0 + 1000)).toBe(true);
    expect(shouldRunFire(skip, T0, T0 + 3600_000)).toBe(false);
    expect(shouldRunFire(once, T0, T0 + 3600_000)).toBe(true);
  });

  it('rejects bad requests with InvalidParamsError', () => {
    expect(() => validateCron('not a cron')).toThrow(InvalidParamsError);
    expect(() => scheduleFromRequest({}, T0)).toThrow(InvalidParamsError);
    expect(() => scheduleFromRequest({ delayMs: 1, cron: '* * * * *' }, T0)).toThrow(InvalidParamsError);
  });
});
