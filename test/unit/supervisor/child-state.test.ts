import { describe, expect, it } from 'vitest';
import { ChildSpecSchema, newChildRecord, nextWakeMs, type ChildRecord, type ChildSpecInput } from '../../../lib/supervisor/child-record.js';
import { markUnknown, stepChild, type ChildEffect, type ChildEvent } from '../../../lib/supervisor/child-state.js';
import { scheduleFromRequest } from '../../../lib/supervisor/schedule.js';

/** A tiny driver around the pure machine with a fake clock. */
class Harness {
  nowMs = 1_700_000_000_000;
  rec: ChildRecord;
  effects: ChildEffect[] = [];
  nextPid = 100;
  isHeld = false;

  constructor(spec: Partial<ChildSpecInput> = {}, restart: Record<string, unknown> = {}) {
    const parsed = ChildSpecSchema.parse({
      id: 'c1',
      source: 'create',
      cmd: ['/bin/true'],
      ...spec,
      restart: { backoffJitter: 0, ...restart },
    });
    this.rec = newChildRecord(parsed, this.nowMs, 'operator');
  }

  get state() {
    return this.rec.current.state;
  }

  send(event: ChildEvent) {
    const r = stepChild(this.rec, event, { nowMs: this.nowMs, random: () => 0.5, isHeld: this.isHeld });
    this.rec = r.record;
    this.effects.push(...r.effects);
    // Emulate the executor: a spawn succeeds at once.
    if (r.effects.some((e) => e.type === 'spawn')) {
      this.send({ type: 'spawned', pid: this.nextPid++, pgid: null, startTicks: 1, bootId: 'b' });
    }
    return r;
  }

  advance(ms: number) {
    this.nowMs += ms;
    const wake = nextWakeMs(this.rec);
    if (wake !== null && wake <= this.nowMs) this.send({ type: 'tick' });
  }

  exit(code: number | null, signal: string | null = null) {
    return this.send({ type: 'exited', pid: this.rec.current.pid ?? -1, code, signal, isKnown: true });
  }

  takeEffects() {
    const e = this.effects;
    this.effects = [];
    return e;
  }
}

describe('child-state', () => {
  it('starts, becomes RUNNING after min uptime, and stops with the stop signal', () => {
    const h = new Harness({}, { minUptimeMs: 1000 });
    h.send({ type: 'start' });
    expect(h.state).toBe('STARTING');
    expect(h.rec.current.pid).toBe(100);
    h.advance(999);
    expect(h.state).toBe('STARTING');
    h.advance(1);
    expect(h.state).toBe('RUNNING');
    h.takeEffects();
    h.send({ type: 'stop' });
    expect(h.state).toBe('STOPPING');
    expect(h.takeEffects()).toEqual([{ type: 'signal', signal: 'SIGINT' }]);
    h.exit(0);
    expect(h.state).toBe('STOPPED');
    expect(h.rec.desired.target).toBe('down');
    expect(h.rec.current.lastExit?.classification).toBe('requested');
  });

  it('escalates to SIGKILL after the stop timeout and then reports stuck', () => {
    const h = new Harness({ stopTimeoutMs: 500, killTimeoutMs: 200 }, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    expect(h.state).toBe('RUNNING');
    h.send({ type: 'stop' });
    h.takeEffects();
    h.advance(500);
    expect(h.takeEffects()).toEqual([{ type: 'signal', signal: 'SIGKILL' }]);
    expect(h.state).toBe('STOPPING');
    h.advance(200);
    expect(h.rec.current.isStuck).toBe(true);
    expect(h.state).toBe('STOPPING');
    h.exit(null, 'SIGKILL');
    expect(h.state).toBe('STOPPED');
    expect(h.rec.current.isStuck).toBe(false);
  });

  it('runs a crash loop through the backoff sequence into CRASHED, and start clears it', () => {
    const h = new Harness({}, { minUptimeMs: 1000, backoffInitialMs: 100, backoffFactor: 2, maxRestarts: 3, windowMs: 60_000 });
    h.send({ type: 'start' });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.advance(10);
      h.exit(3);
      if (h.state === 'BACKOFF') {
        delays.push((h.rec.current.nextAtMs ?? 0) - h.nowMs);
        h.advance((h.rec.current.nextAtMs ?? 0) - h.nowMs);
        expect(h.state).toBe('STARTING');
      }
    }
    expect(delays).toEqual([100, 200, 400]);
    expect(h.state).toBe('CRASHED');
    expect(h.rec.current.lastExit?.code).toBe(3);
    h.send({ type: 'update', target: 'up' });
    expect(h.state).toBe('CRASHED');
    h.send({ type: 'start' });
    expect(h.state).toBe('STARTING');
    expect(h.rec.current.failTimesMs).toEqual([]);
  });

  it('retries once per cooldown after CRASHED', () => {
    const h = new Harness({}, { maxRestarts: 0, cooldownMs: 5000 });
    h.send({ type: 'start' });
    h.exit(1);
    expect(h.state).toBe('CRASHED');
    h.advance(4999);
    expect(h.state).toBe('CRASHED');
    h.advance(1);
    expect(h.state).toBe('STARTING');
  });

  it('restarts at once, without BACKOFF, when the delay is 0', () => {
    const h = new Harness({}, { backoffInitialMs: 0, minUptimeMs: 0 });
    h.send({ type: 'start' });
    const r = h.exit(1);
    expect(r.transitions.map((t) => t.to)).toEqual(['STARTING']);
    expect(h.state).toBe('RUNNING');
    expect(h.rec.current.pid).toBe(101);
    expect(h.rec.current.restarts).toBe(1);
  });

  it('goes CRASHED on exit code 78 without restarting', () => {
    const h = new Harness();
    h.send({ type: 'start' });
    h.advance(2000);
    h.exit(78);
    expect(h.state).toBe('CRASHED');
    expect(h.rec.current.lastExit?.classification).toBe('config_error');
  });

  it('settles a clean exit under on-failure; update(up) does not restart it but start does', () => {
    const h = new Harness({}, { mode: 'on-failure', minUptimeMs: 100 });
    h.send({ type: 'start' });
    h.advance(200);
    h.exit(0);
    expect(h.state).toBe('EXITED');
    h.send({ type: 'update', target: 'up' });
    expect(h.state).toBe('EXITED');
    h.send({ type: 'start' });
    expect(h.state).toBe('STARTING');
  });

  it('suspends and resumes with SIGSTOP/SIGCONT and excludes suspended time from uptime', () => {
    const h = new Harness({}, { minUptimeMs: 0, resetAfterMs: 10_000, backoffInitialMs: 100, backoffFactor: 2 });
    h.rec.current.consecutive = 3;
    h.send({ type: 'start' });
    h.takeEffects();
    expect(h.send({ type: 'suspend' }).reply.ok).toBe(true);
    expect(h.state).toBe('SUSPENDED');
    expect(h.takeEffects()).toEqual([{ type: 'signal', signal: 'SIGSTOP' }]);
    h.advance(60_000);
    h.send({ type: 'resume' });
    expect(h.state).toBe('RUNNING');
    expect(h.takeEffects()).toEqual([{ type: 'signal', signal: 'SIGCONT' }]);
    h.advance(1000);
    h.exit(1);
    // 61 s wall, but only 1 s of uptime: the streak is not reset.
    expect(h.rec.current.consecutive).toBe(4);
  });

  it('refuses suspend while STARTING', () => {
    const h = new Harness({ ready: 'heartbeat' });
    h.send({ type: 'start' });
    expect(h.send({ type: 'suspend' }).reply.ok).toBe(false);
  });

  it('sends the stop signal then SIGCONT when stopping a suspended child', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    h.send({ type: 'suspend' });
    h.takeEffects();
    h.send({ type: 'stop' });
    expect(h.takeEffects()).toEqual([
      { type: 'signal', signal: 'SIGINT' },
      { type: 'signal', signal: 'SIGCONT' },
    ]);
  });

  it('tracks external SIGSTOP/SIGCONT seen by the probe without changing the target', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    h.send({ type: 'probe', isStopped: true });
    expect(h.state).toBe('SUSPENDED');
    expect(h.rec.current.isExternal).toBe(true);
    expect(h.rec.desired.suspended).toBe(false);
    h.send({ type: 'probe', isStopped: false });
    expect(h.state).toBe('RUNNING');
  });

  it('becomes RUNNING on the first heartbeat, and fails the start when none comes', () => {
    const h = new Harness({ ready: 'heartbeat', readyTimeoutMs: 3000 }, { backoffInitialMs: 100 });
    h.send({ type: 'start' });
    h.send({ type: 'heartbeat' });
    expect(h.state).toBe('RUNNING');

    const g = new Harness({ ready: 'heartbeat', readyTimeoutMs: 3000 }, { backoffInitialMs: 100 });
    g.send({ type: 'start' });
    g.advance(3000);
    expect(g.state).toBe('STOPPING');
    g.exit(null, 'SIGINT');
    expect(g.state).toBe('BACKOFF');
    expect(g.rec.current.lastExit?.classification).toBe('failure');
  });

  it('restarts a hung child whose heartbeats expired while its pid lives', () => {
    const h = new Harness({ ready: 'heartbeat', hungRestartAfterMs: 2000 }, { backoffInitialMs: 0 });
    h.send({ type: 'start' });
    h.send({ type: 'heartbeat' });
    h.send({ type: 'expired' });
    h.advance(1000);
    h.send({ type: 'heartbeat' });
    h.advance(5000);
    expect(h.state).toBe('RUNNING');
    h.send({ type: 'expired' });
    h.advance(2000);
    expect(h.state).toBe('STOPPING');
    h.exit(0);
    expect(h.state).toBe('STARTING');
    expect(h.rec.current.failTimesMs.length).toBe(1);
  });

  it('restart stops then starts without charging the budget', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    h.send({ type: 'restart' });
    expect(h.state).toBe('STOPPING');
    h.exit(null, 'SIGINT');
    expect(h.state).toBe('RUNNING');
    expect(h.rec.current.failTimesMs).toEqual([]);
    expect(h.rec.current.pid).toBe(101);
  });

  it('kill ends KILLED and stays there until start', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    h.takeEffects();
    h.send({ type: 'kill', signal: 'SIGKILL' });
    expect(h.takeEffects()).toEqual([{ type: 'signal', signal: 'SIGKILL' }]);
    h.exit(null, 'SIGKILL');
    expect(h.state).toBe('KILLED');
    h.send({ type: 'settle' });
    expect(h.state).toBe('KILLED');
    h.send({ type: 'start' });
    expect(h.state).toBe('RUNNING');
  });

  it('defers the stop of a child whose pid is not known yet; a spawn error then ends STOPPED', () => {
    const h = new Harness();
    // No automatic spawned event here: drive by hand.
    const r = stepChild(h.rec, { type: 'start' }, { nowMs: h.nowMs, random: () => 0.5, isHeld: false });
    let rec = stepChild(r.record, { type: 'stop' }, { nowMs: h.nowMs, random: () => 0.5, isHeld: false }).record;
    expect(rec.current.afterStop).toBe('stopped');
    const failed = stepChild(rec, { type: 'spawn_failed', message: 'ENOENT' }, { nowMs: h.nowMs, random: () => 0.5, isHeld: false });
    expect(failed.record.current.state).toBe('STOPPED');
    expect(failed.effects).toEqual([]);
    // And a spawn that does happen gets its stop signal at once.
    rec = stepChild(r.record, { type: 'stop' }, { nowMs: h.nowMs, random: () => 0.5, isHeld: false }).record;
    const spawned = stepChild(rec, { type: 'spawned', pid: 5, pgid: 5, startTicks: 1, bootId: 'b' }, { nowMs: h.nowMs, random: () => 0.5, isHeld: false });
    expect(spawned.record.current.state).toBe('STOPPING');
    expect(spawned.effects).toEqual([{ type: 'signal', signal: 'SIGINT' }]);
  });

  it('counts a spawn error as exactly one failure', () => {
    const h = new Harness({}, { backoffInitialMs: 100 });
    const r = stepChild(h.rec, { type: 'start' }, { nowMs: h.nowMs, random: () => 0.5, isHeld: false });
    const f = stepChild(r.record, { type: 'spawn_failed', message: 'ENOENT' }, { nowMs: h.nowMs, random: () => 0.5, isHeld: false });
    expect(f.record.current.state).toBe('BACKOFF');
    expect(f.record.current.failTimesMs.length).toBe(1);
    expect(f.record.current.lastExit?.classification).toBe('spawn_error');
  });

  it('ignores exit events from an older run', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    const r = h.send({ type: 'exited', pid: 42, code: 1, signal: null, isKnown: true });
    expect(r.transitions).toEqual([]);
    expect(h.state).toBe('RUNNING');
  });

  it('removes with stop after the exit, and disowns at once', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    const r = h.send({ type: 'remove', mode: 'stop' });
    expect(r.isRemoved).toBe(false);
    expect(h.state).toBe('STOPPING');
    expect(h.exit(0).isRemoved).toBe(true);

    const g = new Harness({}, { minUptimeMs: 0 });
    g.send({ type: 'start' });
    const d = g.send({ type: 'remove', mode: 'disown' });
    expect(d.isRemoved).toBe(true);
    expect(d.effects).toEqual([{ type: 'disown' }]);
  });

  it('keeps a scheduled child PENDING until the fire, and cancel removes it', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'schedule', schedule: scheduleFromRequest({ delayMs: 5000 }, h.nowMs) });
    expect(h.state).toBe('PENDING');
    h.advance(4999);
    expect(h.state).toBe('PENDING');
    h.advance(1);
    expect(h.state).toBe('RUNNING');
    expect(h.rec.desired.schedule).toBeNull();

    const g = new Harness();
    g.send({ type: 'schedule', schedule: scheduleFromRequest({ delayMs: 5000 }, g.nowMs) });
    expect(g.send({ type: 'cancel', keep: false }).isRemoved).toBe(true);
    expect(new Harness().send({ type: 'cancel', keep: false }).reply.ok).toBe(false);
  });

  it('fires a cron schedule on each slot and not at creation', () => {
    const h = new Harness({}, { mode: 'on-failure', minUptimeMs: 0 });
    h.nowMs = Date.UTC(2024, 0, 1, 0, 0, 0);
    h.send({ type: 'schedule', schedule: scheduleFromRequest({ cron: '*/10 * * * * *' }, h.nowMs) });
    expect(h.state).toBe('PENDING');
    expect(h.rec.current.scheduleNextMs).toBe(Date.UTC(2024, 0, 1, 0, 0, 10));
    h.advance(10_000);
    expect(h.state).toBe('RUNNING');
    h.exit(0);
    expect(h.state).toBe('EXITED');
    expect(h.rec.current.scheduleNextMs).toBe(Date.UTC(2024, 0, 1, 0, 0, 20));
    h.advance(10_000);
    expect(h.state).toBe('RUNNING');
  });

  it('fires a missed cron slot once (run_once) or not at all (skip) after a clock jump', () => {
    for (const missed of ['run_once', 'skip'] as const) {
      const h = new Harness({}, { mode: 'on-failure', minUptimeMs: 0 });
      h.nowMs = Date.UTC(2024, 0, 1, 0, 0, 0);
      h.send({ type: 'schedule', schedule: scheduleFromRequest({ cron: '0 * * * *', missed }, h.nowMs) });
      h.advance(3 * 3600_000 + 1000); // the wall clock jumps 3 h
      expect(h.state).toBe(missed === 'run_once' ? 'RUNNING' : 'PENDING');
      expect(h.rec.current.scheduleNextMs).toBe(Date.UTC(2024, 0, 1, 4, 0, 0));
    }
  });

  it('re-adopts a live process after a supervisor restart, keeping suspension', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    h.send({ type: 'suspend' });
    h.rec = markUnknown(h.rec, h.nowMs);
    expect(h.state).toBe('UNKNOWN');
    h.takeEffects();
    h.send({ type: 'adopted', pid: 100, pgid: 100, startTicks: 1, bootId: 'b', isStopped: false, isOperable: true, cause: 're-adopted' });
    expect(h.state).toBe('SUSPENDED');
    expect(h.takeEffects()).toEqual([{ type: 'signal', signal: 'SIGSTOP' }]);
    expect(h.rec.current.isAdopted).toBe(true);
  });

  it('gives a re-adopted STARTING child a fresh heartbeat window, however old the saved start is', () => {
    const h = new Harness({ ready: 'heartbeat', readyTimeoutMs: 15_000 }, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    expect(h.state).toBe('STARTING');
    // a state saved while it was starting, read back a minute later (a `.prev` fallback)
    h.nowMs += 60_000;
    h.rec = markUnknown(h.rec, h.nowMs);
    h.takeEffects();
    h.send({ type: 'adopted', pid: 100, pgid: 100, startTicks: 1, bootId: 'b', isStopped: false, isOperable: true, cause: 're-adopted' });
    expect(h.state).toBe('STARTING');
    h.advance(30);
    expect(h.state).toBe('STARTING');
    expect(h.takeEffects()).toEqual([]);
    h.send({ type: 'heartbeat' });
    expect(h.state).toBe('RUNNING');
    // one that never beats still fails, a whole window after adoption
    const g = new Harness({ ready: 'heartbeat', readyTimeoutMs: 15_000 }, { minUptimeMs: 0 });
    g.send({ type: 'start' });
    g.nowMs += 60_000;
    g.rec = markUnknown(g.rec, g.nowMs);
    g.send({ type: 'adopted', pid: 100, pgid: 100, startTicks: 1, bootId: 'b', isStopped: false, isOperable: true, cause: 're-adopted' });
    g.advance(14_000);
    expect(g.state).toBe('STARTING');
    g.advance(1_001);
    expect(g.state).toBe('STOPPING');
  });

  it('finishes an interrupted stop after a supervisor restart', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    h.send({ type: 'stop' });
    h.rec = markUnknown(h.rec, h.nowMs);
    h.takeEffects();
    h.send({ type: 'adopted', pid: 100, pgid: 100, startTicks: 1, bootId: 'b', isStopped: false, isOperable: true, cause: 're-adopted' });
    expect(h.state).toBe('STOPPING');
    expect(h.takeEffects()).toEqual([{ type: 'signal', signal: 'SIGINT' }]);
    // And if it had died meanwhile: STOPPED.
    const g = new Harness({}, { minUptimeMs: 0 });
    g.send({ type: 'start' });
    g.send({ type: 'stop' });
    g.rec = markUnknown(g.rec, g.nowMs);
    g.send({ type: 'vanished', cause: 'gone', isCharged: true });
    expect(g.state).toBe('STOPPED');
  });

  it('records an unknown exit for a process that vanished while the supervisor was down, then restarts it', () => {
    const h = new Harness({}, { minUptimeMs: 0, backoffInitialMs: 0 });
    h.send({ type: 'start' });
    h.rec = markUnknown(h.rec, h.nowMs);
    h.send({ type: 'vanished', cause: 'reused', isCharged: true });
    expect(h.rec.current.lastExit?.isKnown).toBe(false);
    expect(h.rec.current.lastExit?.classification).toBe('vanished');
    expect(h.state).toBe('RUNNING');
  });

  it('holds automatic starts while held, and starts on settle afterwards', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.isHeld = true;
    h.send({ type: 'update', target: 'up' });
    expect(h.state).toBe('STOPPED');
    h.isHeld = false;
    h.send({ type: 'settle' });
    expect(h.state).toBe('RUNNING');
  });

  it('stops on shutdown without changing the desired target', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.send({ type: 'start' });
    h.isHeld = true;
    const r = h.send({ type: 'shutdown' });
    expect(r.isDesiredChanged).toBe(false);
    h.exit(null, 'SIGINT');
    expect(h.state).toBe('STOPPED');
    expect(h.rec.desired.target).toBe('up');
  });

  it('follows config targets only while no operator took over', () => {
    const h = new Harness({}, { minUptimeMs: 0 });
    h.rec.desired.owner = 'config';
    h.send({ type: 'config', target: 'up' });
    expect(h.state).toBe('RUNNING');
    h.send({ type: 'stop' });
    expect(h.rec.desired.owner).toBe('operator');
    h.exit(0);
    h.send({ type: 'config', target: 'up' });
    expect(h.state).toBe('STOPPED');
  });

  it('refuses to start an adopted child without a command', () => {
    const h = new Harness({ cmd: null, source: 'open' });
    expect(h.send({ type: 'start' }).reply.ok).toBe(false);
  });
});
