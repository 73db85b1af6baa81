import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { LogBudget } from '../../../lib/registry/log-budget.js';
import { recordingLogger } from './recording-logger.js';

describe('LogBudget', () => {
  let logger: ReturnType<typeof recordingLogger>;
  let budget: LogBudget;

  beforeEach(() => {
    vi.useFakeTimers();
    logger = recordingLogger();
    budget = new LogBudget({ clock: systemClock, logger, intervalMs: 10_000, burst: 3 });
  });

  afterEach(() => {
    budget.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  it('logs the first lines of a kind, then one summary of the rest when the interval ends', async () => {
    for (let i = 0; i < 10; i++) budget.info({ agent_address: `observatory.a${i}` }, 'agent appeared');
    budget.info({ agent_address: 'observatory.x' }, 'agent expired');
    expect(logger.at('info').map((e) => [e.msg, e.fields['agent_address']])).toEqual([
      ['agent appeared', 'observatory.a0'],
      ['agent appeared', 'observatory.a1'],
      ['agent appeared', 'observatory.a2'],
      ['agent expired', 'observatory.x'],
    ]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(logger.at('info').at(-1)).toMatchObject({ msg: 'agent appeared (more, not logged one by one)', fields: { not_logged: 7 } });
    // a new interval has a new budget
    budget.info({ agent_address: 'observatory.b' }, 'agent appeared');
    expect(logger.at('info').at(-1)).toMatchObject({ msg: 'agent appeared', fields: { agent_address: 'observatory.b' } });
  });
});
