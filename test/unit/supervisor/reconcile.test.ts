import { describe, expect, it } from 'vitest';
import { ChildSpecSchema, newChildRecord, type ChildRecord } from '../../../lib/supervisor/child-record.js';
import type { ProbeResult, ProcStat } from '../../../lib/supervisor/proc-identity.js';
import { planReconcile, type MarkedProcess } from '../../../lib/supervisor/reconcile.js';

const NOW = 1_700_000_000_000;
const stat = (pid: number, startTicks: number, state = 'S'): ProcStat => ({ pid, comm: 'node', state, ppid: 1, pgrp: pid, session: pid, startTicks });

function rec(id: string, over: Partial<ChildRecord['current']> = {}, target: 'up' | 'down' = 'up'): ChildRecord {
  const r = newChildRecord(ChildSpecSchema.parse({ id, source: 'create', cmd: ['x'] }), NOW, 'operator');
  r.desired.target = target;
  Object.assign(r.current, { state: 'RUNNING', bootId: 'boot-1', ...over });
  return r;
}

function plan(records: ChildRecord[], probes: [number, ProbeResult][], marked: MarkedProcess[] = [], bootId = 'boot-1', savedAtMs = NOW - 1000) {
  return planReconcile(records, { bootId, savedBootId: 'boot-1', savedAtMs, probes: new Map(probes), marked }, NOW);
}

describe('reconcile', () => {
  it('adopts live processes whose identity matches, with their stopped flag', () => {
    const p = plan([rec('a', { pid: 10, startTicks: 5 })], [[10, { status: 'alive', stat: stat(10, 5, 'T') }]]);
    expect(p.decisions).toEqual([expect.objectContaining({ id: 'a', action: 'adopt', pid: 10, isStopped: true })]);
  });

  it('marks gone, zombie and reused pids as vanished', () => {
    const p = plan(
      [rec('g', { pid: 1, startTicks: 1 }), rec('z', { pid: 2, startTicks: 2 }), rec('r', { pid: 3, startTicks: 3 })],
      [
        [1, { status: 'gone' }],
        [2, { status: 'zombie', stat: stat(2, 2, 'Z') }],
        [3, { status: 'reused', stat: stat(3, 99) }],
      ],
    );
    expect(p.decisions.map((d) => (d.action === 'vanish' ? d.cause : d.action))).toEqual(['gone', 'zombie', 'reused']);
  });

  it('voids every pid after a reboot', () => {
    const p = plan([rec('a', { pid: 10, startTicks: 5 })], [[10, { status: 'alive', stat: stat(10, 5) }]], [], 'boot-2');
    expect(p.decisions[0]).toMatchObject({ action: 'vanish', cause: 'reboot', isCharged: false });
  });

  it('does not charge the budget when the supervisor was down longer than the window', () => {
    const p = plan([rec('a', { pid: 10, startTicks: 5 })], [[10, { status: 'gone' }]], [], 'boot-1', NOW - 3600_000);
    expect(p.decisions[0]).toMatchObject({ action: 'vanish', isCharged: false });
  });

  it('adopts an unrecorded run found by its marker instead of starting a duplicate', () => {
    const marked = [{ pid: 20, childId: 'a', pgid: 20, startTicks: 7, state: 'S' }];
    const p = plan([rec('a', { state: 'STOPPED', pid: null })], [], marked);
    expect(p.decisions[0]).toMatchObject({ action: 'adopt', pid: 20 });
    expect(p.orphans).toEqual([]);
    // Target down: not adopted, reported.
    const q = plan([rec('a', { state: 'STOPPED', pid: null }, 'down')], [], marked);
    expect(q.decisions[0]).toMatchObject({ action: 'keep' });
    expect(q.orphans).toEqual([expect.objectContaining({ pid: 20, reason: 'child not running' })]);
  });

  it('reports unknown and duplicate marked processes as orphans', () => {
    const marked = [
      { pid: 10, childId: 'a', pgid: 10, startTicks: 5, state: 'S' },
      { pid: 30, childId: 'a', pgid: 30, startTicks: 9, state: 'S' },
      { pid: 40, childId: 'ghost', pgid: 40, startTicks: 9, state: 'S' },
    ];
    const p = plan([rec('a', { pid: 10, startTicks: 5 })], [[10, { status: 'alive', stat: stat(10, 5) }]], marked);
    expect(p.orphans.map((o) => [o.pid, o.reason])).toEqual([
      [30, 'duplicate'],
      [40, 'unknown child'],
    ]);
  });
});
