import { describe, expect, it } from 'vitest';
import { RestartBudget, describeExit, exitCodeOf } from '../../../lib/cli/up-command.js';

describe('ocs up: the HostManager restart rule', () => {
  it('reports a signal death as a shell does', () => {
    expect(exitCodeOf({ code: null, signal: 'SIGKILL' })).toBe(137);
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toBe('killed by SIGKILL, exit 137');
    expect(describeExit({ code: null, signal: 'SIGTERM' })).toBe('killed by SIGTERM, exit 143');
    expect(describeExit({ code: 3, signal: null })).toBe('exit 3');
  });

  it('waits 1, 2, 4, 8 s and gives up at the fifth exit within 60 s', () => {
    const b = new RestartBudget();
    expect([0, 1, 2, 3].map((t) => b.next(t * 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(b.next(5000)).toBeNull();
    // exits spread wider than the window never spend it
    const c = new RestartBudget();
    for (let i = 0; i < 20; i++) expect(c.next(i * 61_000)).toBe(1000);
  });
});
