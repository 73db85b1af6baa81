import { describe, expect, it } from 'vitest';
import { afterCheckPhase, LOOP_LAG_TOLERANCE_MS } from '../../../lib/registry/after-pending-input.js';

function busyFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a synchronous job holding the event loop
  }
}

const nextCheckPhase = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('afterCheckPhase', () => {
  it('runs in the check phase of the same loop turn when the loop keeps up', async () => {
    const ran: string[] = [];
    afterCheckPhase()(() => ran.push('confirmed'));
    expect(ran).toEqual([]);
    await nextCheckPhase();
    expect(ran).toEqual(['confirmed']);
  });

  it('waits for a later check phase while the loop runs behind', async () => {
    const ran: string[] = [];
    afterCheckPhase()(() => ran.push('confirmed'));
    busyFor(LOOP_LAG_TOLERANCE_MS * 3);
    await nextCheckPhase();
    expect(ran).toEqual([]);
    await nextCheckPhase();
    await nextCheckPhase();
    expect(ran).toEqual(['confirmed']);
  });

  it('gives up waiting after maxWaitMs', async () => {
    const ran: string[] = [];
    afterCheckPhase({ maxWaitMs: 10 })(() => ran.push('confirmed'));
    busyFor(LOOP_LAG_TOLERANCE_MS * 2);
    await nextCheckPhase();
    expect(ran).toEqual(['confirmed']);
  });

  it('confirms once more with ifBehind when the loop was found behind, and not otherwise', async () => {
    const ran: string[] = [];
    const more: Array<() => void> = [];
    const ifBehind = (fn: () => void): (() => void) => {
      more.push(fn);
      return () => undefined;
    };
    afterCheckPhase({ ifBehind })(() => ran.push('prompt'));
    await nextCheckPhase();
    expect(ran).toEqual(['prompt']);
    afterCheckPhase({ ifBehind })(() => ran.push('behind'));
    busyFor(LOOP_LAG_TOLERANCE_MS * 3);
    await nextCheckPhase();
    await nextCheckPhase();
    await nextCheckPhase();
    expect(ran).toEqual(['prompt']);
    expect(more).toHaveLength(1);
    more[0]!();
    expect(ran).toEqual(['prompt', 'behind']);
  });

  it('can be cancelled', async () => {
    const ran: string[] = [];
    const cancel = afterCheckPhase()(() => ran.push('confirmed'));
    cancel();
    await nextCheckPhase();
    await nextCheckPhase();
    expect(ran).toEqual([]);
  });
});
