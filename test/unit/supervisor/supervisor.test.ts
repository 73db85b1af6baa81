import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Supervisor } from '../../../lib/supervisor/supervisor.js';
import { FakeControl } from '../../fixtures/host-manager-fakes.js';

let dir: string;
let control: FakeControl;
let sup: Supervisor;

beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.UTC(2024, 0, 1, 0, 0, 0));
  dir = mkdtempSync(join(tmpdir(), 'sup-unit-'));
  control = new FakeControl();
  sup = new Supervisor({ stateDir: dir, allowExec: true, processControl: control, random: () => 0.5, pid: 1 });
  await sup.init();
});

afterEach(async () => {
  const closing = sup.die({ mode: 'disown' });
  await vi.runOnlyPendingTimersAsync();
  await closing;
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

const pidOf = (id: string) => sup.get(id)?.current.pid ?? -1;
const stateOf = (id: string) => sup.get(id)?.current.state;

describe('Supervisor (fake process control, fake clock)', () => {
  it('runs a crash loop on the clock: backoff 1 s, 2 s, then CRASHED', async () => {
    sup.create({ id: 'a', cmd: ['/bin/a'], restart: { minUptimeMs: 5000, backoffInitialMs: 1000, backoffFactor: 2, backoffJitter: 0, maxRestarts: 2 } });
    expect(stateOf('a')).toBe('STARTING');
    control.exit(pidOf('a'), 1);
    expect(stateOf('a')).toBe('BACKOFF');
    await vi.advanceTimersByTimeAsync(999);
    expect(stateOf('a')).toBe('BACKOFF');
    await vi.advanceTimersByTimeAsync(1);
    expect(stateOf('a')).toBe('STARTING');
    control.exit(pidOf('a'), 1);
    await vi.advanceTimersByTimeAsync(1999);
    expect(stateOf('a')).toBe('BACKOFF');
    await vi.advanceTimersByTimeAsync(1);
    expect(stateOf('a')).toBe('STARTING');
    control.exit(pidOf('a'), 1);
    expect(stateOf('a')).toBe('CRASHED');
    expect(control.spawns).toHaveLength(3);
    expect(control.spawns[0]?.env['OCS_SUPERVISED_ID']).toBe('a');
    const lines = readFileSync(join(dir, 'history-00.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; to?: string });
    expect(lines.filter((l) => l.kind === 'transition' && l.to === 'BACKOFF')).toHaveLength(2);
    expect(sup.childStates()).toEqual([expect.objectContaining({ instance_id: 'a', next_action: 'down', state: 'CRASHED' })]);
  });

  it('becomes RUNNING on the first heartbeat and restarts a hung agent', async () => {
    sup.create({ id: 'agent', cmd: ['/bin/agent'], ready: 'heartbeat', readyTimeoutMs: 10_000, hungRestartAfterMs: 3000, restart: { backoffInitialMs: 0 } });
    expect(sup.childStates()[0]?.next_action).toBe('wait_start');
    sup.onHeartbeat('agent');
    expect(stateOf('agent')).toBe('RUNNING');
    const first = pidOf('agent');
    sup.onExpired('agent');
    await vi.advanceTimersByTimeAsync(2999);
    expect(stateOf('agent')).toBe('RUNNING');
    await vi.advanceTimersByTimeAsync(1);
    expect(control.signals).toContainEqual([first, 'SIGINT']);
    await vi.advanceTimersByTimeAsync(0);
    expect(stateOf('agent')).toBe('STARTING');
    expect(pidOf('agent')).not.toBe(first);
    expect(sup.get('agent')?.current.failTimesMs).toHaveLength(1);
  });

  it('fails a start that never sees a heartbeat', async () => {
    sup.create({ id: 'mute', cmd: ['/bin/mute'], ready: 'heartbeat', readyTimeoutMs: 5000, restart: { backoffInitialMs: 1000, backoffJitter: 0 } });
    await vi.advanceTimersByTimeAsync(5000);
    await vi.advanceTimersByTimeAsync(0);
    expect(stateOf('mute')).toBe('BACKOFF');
    expect(sup.get('mute')?.current.lastExit?.message).toMatch(/start timeout/);
  });

  it('escalates a stop to SIGKILL after the stop timeout', async () => {
    control.diesOn = new Set(['SIGKILL']);
    sup.create({ id: 's', cmd: ['/bin/s'], stopTimeoutMs: 2000, restart: { minUptimeMs: 0 } });
    const pid = pidOf('s');
    sup.stop('s');
    expect(control.signals).toEqual([[pid, 'SIGINT']]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(control.signals).toEqual([
      [pid, 'SIGINT'],
      [pid, 'SIGKILL'],
    ]);
    await vi.advanceTimersByTimeAsync(0);
    expect(stateOf('s')).toBe('STOPPED');
  });

  it('suspends with SIGSTOP, notices an outside SIGCONT by polling, and refuses verbs after die', async () => {
    sup.create({ id: 'p', cmd: ['/bin/p'], restart: { minUptimeMs: 0 } });
    sup.suspend('p');
    expect(stateOf('p')).toBe('SUSPENDED');
    const p = control.proc.table.get(pidOf('p'));
    if (p) p.state = 'S'; // someone sent SIGCONT
    await vi.advanceTimersByTimeAsync(1000);
    expect(stateOf('p')).toBe('RUNNING');
    const closing = sup.die({ mode: 'disown' });
    await vi.runOnlyPendingTimersAsync();
    await closing;
    expect(sup.start('p')).toMatchObject({ ok: false, message: expect.stringMatching(/shutting down/) });
  });

  it('fires a cron schedule on the hour and not at creation', async () => {
    sup.create({ id: 'hourly', cmd: ['/bin/h'], schedule: { cron: '0 * * * *' }, restart: { mode: 'on-failure', minUptimeMs: 0 } });
    expect(stateOf('hourly')).toBe('PENDING');
    expect(control.spawns).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(3600_000 - 1);
    expect(control.spawns).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(control.spawns).toHaveLength(1);
    control.exit(pidOf('hourly'), 0);
    expect(stateOf('hourly')).toBe('EXITED');
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(control.spawns).toHaveLength(2);
  });

  it('applies update requests in order and reports per-id results', () => {
    sup.create({ id: 'x', cmd: ['/bin/x'], createStopped: true });
    sup.create({ id: 'y', cmd: ['/bin/y'], createStopped: true });
    const r = sup.update([
      ['all', 'up'],
      ['y', 'down'],
      ['nope', 'up'],
    ]);
    expect(r.ok).toBe(false);
    expect(r.results.map((x) => [x.id, x.ok])).toEqual([
      ['x', true],
      ['y', true],
      ['y', true],
      ['nope', false],
    ]);
    expect(stateOf('x')).toBe('STARTING');
    expect(['STOPPING', 'STOPPED']).toContain(stateOf('y'));
  });

  it('emits transitions and records requests in the audit trail', () => {
    const seen: string[] = [];
    sup.on('child.transitioned', (t) => seen.push(`${t.from}>${t.to}`));
    sup.create({ id: 'e', cmd: ['/bin/e'], restart: { minUptimeMs: 0 } });
    expect(seen).toEqual(['STOPPED>STARTING', 'STARTING>RUNNING']);
    expect(sup.history().some((h) => h.kind === 'request' && h.verb === 'create' && h.ok === true)).toBe(true);
  });

  it('resets a CRASHED child and schedules a start on a stopped one', async () => {
    sup.create({ id: 'r', cmd: ['/bin/r'], restart: { maxRestarts: 0 } });
    control.exit(pidOf('r'), 1);
    expect(stateOf('r')).toBe('CRASHED');
    expect(sup.reset('r').ok).toBe(true);
    expect(stateOf('r')).toBe('STARTING');
    sup.stop('r');
    await vi.advanceTimersByTimeAsync(0);
    expect(stateOf('r')).toBe('STOPPED');
    expect(sup.schedule('r', { delayMs: 60_000 }).ok).toBe(true);
    expect(stateOf('r')).toBe('PENDING');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(stateOf('r')).toBe('STARTING');
    expect(sup.cancel('r').ok).toBe(false);
  });

  it('adopts by marker a run spawned for a new config entry that was never persisted', async () => {
    const entries = [{ instanceId: 'cfg', manage: 'host/up' as const, command: ['/bin/cfg'], ready: 'uptime' as const }];
    const a = new Supervisor({ stateDir: dir, instanceIndex: 1, processControl: control, pid: 1 });
    const first = await a.init(entries);
    expect(first.started).toEqual(['cfg']);
    const pid = a.get('cfg')?.current.pid;
    const disowning = a.die({ mode: 'disown' });
    await vi.runOnlyPendingTimersAsync();
    await disowning;
    // The crash happened before the state file was written.
    rmSync(join(dir, 'sup-01.json'), { force: true });
    rmSync(join(dir, 'sup-01.json.prev'), { force: true });
    const b = new Supervisor({ stateDir: dir, instanceIndex: 1, processControl: control, pid: 1 });
    const second = await b.init(entries);
    expect(second.adopted).toEqual(['cfg']);
    expect(second.started).toEqual([]);
    expect(b.get('cfg')?.current.pid).toBe(pid);
    expect(control.spawns).toHaveLength(1);
    const closing = b.die({ mode: 'disown' });
    await vi.runOnlyPendingTimersAsync();
    await closing;
  });
});
