import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import { LocalInstances } from '../../../lib/orchestrator/local-instances.js';
import { DEFAULT_ORCHESTRATOR_OPTIONS } from '../../../lib/orchestrator/orchestrator-types.js';
import { MONITOR, type PlacementInstance } from '../../../lib/orchestrator/placement-message.js';
import { Rollout, type RolloutFacts } from '../../../lib/orchestrator/rollout.js';
import type { ChildState } from '../../../lib/supervisor/child-record.js';

const T0 = 1_700_000_000_000;

/**
 * Three hosts, one instance each (web-1 on h1, web-2 on h2, web-3 on h3). A holder that is asked
 * restarts its instance: down for `downMs`, then RUNNING with the token (unless it is broken).
 */
class Cluster {
  now = T0;
  readonly states = new Map<string, { node: string; state: ChildState; restart: string | null; upAtMs: number | null; token: string | null }>();
  readonly broken = new Set<string>();
  readonly asked: string[] = [];
  minReady = Infinity;

  constructor(readonly downMs = 1500) {
    for (const [slot, node] of [['web-1', 'h1'], ['web-2', 'h2'], ['web-3', 'h3']] as const) this.states.set(slot, { node, state: 'RUNNING', restart: null, upAtMs: null, token: null });
  }

  facts(): RolloutFacts {
    return {
      nodes: ['h1', 'h2', 'h3'],
      self: 'h1',
      isDead: () => false,
      instanceInfo: (node, slot): (PlacementInstance & { restart: string | null }) | null => {
        const s = this.states.get(slot);
        return s === undefined || s.node !== node ? null : { state: s.state, monitor: MONITOR.IDLE, epoch: 1, claim_at: null, restart: s.restart };
      },
    };
  }

  restart(slot: string, token: string): void {
    const s = this.states.get(slot)!;
    this.asked.push(slot);
    s.state = 'STOPPING';
    s.token = token;
    s.upAtMs = this.broken.has(slot) ? null : this.now + this.downMs;
  }

  advance(ms: number): void {
    this.now += ms;
    for (const s of this.states.values()) {
      if (s.upAtMs !== null && this.now >= s.upAtMs) {
        s.state = 'RUNNING';
        s.restart = s.token;
        s.upAtMs = null;
      } else if (s.state === 'STOPPING' && this.now >= (s.upAtMs ?? Infinity) - this.downMs / 2) s.state = 'STARTING';
    }
    const ready = [...this.states.values()].filter((s) => s.state === 'RUNNING').length;
    this.minReady = Math.min(this.minReady, ready);
  }

  /** Runs the rollout at 100 ms steps until it ends (or `limitMs`). */
  run(rollout: Rollout, limitMs = 120_000): void {
    const end = this.now + limitMs;
    while (rollout.isRunning && this.now < end) {
      for (const [slot] of rollout.step(this.facts(), this.now)) this.restart(slot, rollout.token);
      this.advance(100);
    }
  }
}

const rolloutOf = (c: Cluster, maxUnavailable: number, readyTimeoutMs = 10_000) =>
  new Rollout({ service: 'web', slots: ['web-1', 'web-2', 'web-3'], maxUnavailable, readyTimeoutMs, token: 'h1/1/1', nowMs: c.now });

describe('rolling restart', () => {
  it('restarts one instance at a time and never leaves fewer than instances - 1 ready', () => {
    const c = new Cluster();
    const r = rolloutOf(c, 1);
    c.run(r);
    const report = r.report(c.now);
    expect(report.status).toBe('done');
    expect(report.message).toBe('restarted 3 of 3 instances');
    expect(c.asked).toEqual(['web-1', 'web-2', 'web-3']);
    expect(c.minReady).toBe(2);
    expect(report.min_ready_seen).toBe(2);
    expect(report.min_ready_allowed).toBe(2);
    expect(report.detail.map((d) => [d.instance_id, d.host, d.result])).toEqual([
      ['web-1', 'h1', 'restarted'],
      ['web-2', 'h2', 'restarted'],
      ['web-3', 'h3', 'restarted'],
    ]);
    expect(report.detail[0]!.ready_after_s).toBeCloseTo(1.5, 1);
  });

  it('restarts in batches of max_unavailable', () => {
    const c = new Cluster();
    const r = rolloutOf(c, 2);
    const first = r.step(c.facts(), c.now);
    expect([...first.keys()]).toEqual(['web-1', 'web-2']);
    for (const [slot] of first) c.restart(slot, r.token);
    c.advance(100);
    c.run(r);
    expect(r.report(c.now).status).toBe('done');
    expect(c.minReady).toBe(1);
  });

  it('stops with a report naming the instance that does not come back, the rest untouched', () => {
    const c = new Cluster();
    c.broken.add('web-2');
    const r = rolloutOf(c, 1, 5000);
    c.run(r);
    const report = r.report(c.now);
    expect(report.status).toBe('failed');
    expect(report.message).toBe('web-2 on h2 not ready 5 s after its restart (STOPPING on h2); rollout stopped');
    expect(report.detail.map((d) => d.result)).toEqual(['restarted', 'failed', 'untouched']);
    expect(c.asked).toEqual(['web-1', 'web-2']);
  });

  it('does not start a batch that would go below the floor, and gives up after the timeout', () => {
    const c = new Cluster();
    c.states.get('web-3')!.state = 'BACKOFF';
    const r = rolloutOf(c, 1, 3000);
    c.run(r);
    const report = r.report(c.now);
    expect(c.asked).toEqual([]);
    expect(report.status).toBe('failed');
    expect(report.message).toBe('only 2 of 3 instances ready for 3 s; cannot restart more without going below 2; rollout stopped');
  });

  it('skips an instance no host holds', () => {
    const c = new Cluster();
    c.states.get('web-3')!.state = 'STOPPED';
    const r = new Rollout({ service: 'web', slots: ['web-1', 'web-2', 'web-3'], maxUnavailable: 2, readyTimeoutMs: 10_000, token: 't', nowMs: c.now });
    c.run(r);
    const report = r.report(c.now);
    expect(report.status).toBe('done');
    expect(report.message).toBe('restarted 2 of 3 instances (1 not running, skipped)');
    expect(report.detail[2]).toMatchObject({ result: 'skipped', host: null });
  });
});

describe('the holder side of a rolling restart', () => {
  it('restarts once per token and reports the token once RUNNING again', () => {
    const local = new LocalInstances(silentLogger(), DEFAULT_ORCHESTRATOR_OPTIONS);
    local.add('web-1', 'web', T0);
    local.onLocalState({ 'web-1': 'RUNNING' }, T0);
    expect(local.requestRestart('web-1', 'h2/9/1')).toBe(true);
    expect(local.requestRestart('web-1', 'h2/9/1')).toBe(false); // the request stays in h2's feed until done
    expect(local.takeCommands()).toEqual([{ type: 'restart', instanceId: 'web-1', service: 'web', reason: 'rollout h2/9/1' }]);
    expect(local.info('web-1')?.restart).toBeNull();
    local.onLocalState({ 'web-1': 'STOPPING' }, T0 + 100);
    local.onLocalState({ 'web-1': 'STARTING' }, T0 + 600);
    expect(local.info('web-1')?.restart).toBeNull();
    local.onLocalState({ 'web-1': 'RUNNING' }, T0 + 1500);
    expect(local.info('web-1')?.restart).toBe('h2/9/1');
    expect(local.placementInstances()['web-1']?.restart).toBe('h2/9/1');
    expect(local.requestRestart('web-1', 'h2/9/1')).toBe(false);
    expect(local.takeCommands()).toEqual([]);
  });

  it('refuses a restart of an instance that is not running here', () => {
    const local = new LocalInstances(silentLogger(), DEFAULT_ORCHESTRATOR_OPTIONS);
    local.add('web-1', 'web', T0);
    local.onLocalState({ 'web-1': 'STOPPED' }, T0);
    expect(local.requestRestart('web-1', 't')).toBe(false);
    expect(local.requestRestart('nope', 't')).toBe(false);
    expect(local.takeCommands()).toEqual([]);
  });
});
