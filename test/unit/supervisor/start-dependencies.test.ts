import { describe, expect, it } from 'vitest';
import { dependencyProblems, startLayers } from '../../../lib/site-config/dependencies.js';
import { ChildSpecSchema, newChildRecord, nextWakeMs, type ChildRecord, type ChildSpecInput } from '../../../lib/supervisor/child-record.js';
import { stepChild, type ChildEvent } from '../../../lib/supervisor/child-state.js';

/** The pure machine with what the child is after given as the context's `waitingFor`. */
class Harness {
  nowMs = 1_700_000_000_000;
  rec: ChildRecord;
  waitingFor: string[] = [];
  spawns = 0;

  constructor(spec: Partial<ChildSpecInput> = {}) {
    this.rec = newChildRecord(ChildSpecSchema.parse({ id: 'app', source: 'config', cmd: ['/bin/true'], after: ['db'], dependencyTimeoutMs: 30_000, ...spec }), this.nowMs, 'config');
  }

  send(event: ChildEvent) {
    const r = stepChild(this.rec, event, { nowMs: this.nowMs, random: () => 0.5, isHeld: false, waitingFor: this.waitingFor });
    this.rec = r.record;
    for (const e of r.effects) {
      if (e.type !== 'spawn') continue;
      this.spawns += 1;
      this.send({ type: 'spawned', pid: 500 + this.spawns, pgid: null, startTicks: 1, bootId: 'b' });
    }
    return r;
  }

  advance(ms: number) {
    this.nowMs += ms;
    const wake = nextWakeMs(this.rec);
    if (wake !== null && wake <= this.nowMs) this.send({ type: 'tick' });
  }

  get c() {
    return this.rec.current;
  }
}

describe('start ordering in the child machine', () => {
  it('waits in PENDING naming what is not ready, then starts when it is', () => {
    const h = new Harness();
    h.waitingFor = ['db'];
    const r = h.send({ type: 'start' });
    expect(h.c.state).toBe('PENDING');
    expect(h.c.waitingFor).toEqual(['db']);
    expect(h.c.reason).toContain('waiting for db (not ready)');
    expect(r.reply.message).toBe('waiting for db (not ready)');
    expect(h.spawns).toBe(0);
    h.advance(10_000);
    h.send({ type: 'dependencies' }); // still not ready: the wait goes on, no new transition
    expect(h.c.state).toBe('PENDING');
    h.waitingFor = [];
    const ready = h.send({ type: 'dependencies' });
    expect(ready.transitions.map((t) => t.to)).toEqual(['STARTING']);
    expect(h.spawns).toBe(1);
    expect(h.c.waitingFor).toEqual([]);
    expect(h.c.dependencyDeadlineMs).toBeNull();
  });

  it('fails the start with the reason when the wait times out, and keeps the deadline across re-checks', () => {
    const h = new Harness({ restart: { cooldownMs: null } });
    h.waitingFor = ['db'];
    h.send({ type: 'config', target: 'up' });
    expect(h.c.state).toBe('PENDING');
    const deadline = h.c.dependencyDeadlineMs;
    expect(deadline).toBe(h.nowMs + 30_000);
    h.advance(20_000);
    h.send({ type: 'dependencies' });
    expect(h.c.dependencyDeadlineMs).toBe(deadline);
    h.advance(10_000);
    expect(h.c.state).toBe('CRASHED');
    expect(h.c.reason).toBe('dependency timeout: db not ready within 30 s');
    expect(h.spawns).toBe(0);
  });

  it('a stop while waiting cancels the wait', () => {
    const h = new Harness();
    h.waitingFor = ['db'];
    h.send({ type: 'start' });
    h.send({ type: 'stop' });
    expect(h.c.state).toBe('STOPPED');
    expect(h.c.waitingFor).toEqual([]);
    expect(nextWakeMs(h.rec)).toBeNull();
  });

  it('a requirement that stops for good stops the dependant, which then waits for it again', () => {
    const h = new Harness({ requires: ['db'], after: [] });
    h.send({ type: 'start' });
    h.send({ type: 'heartbeat' });
    expect(h.c.state).toBe('RUNNING');
    h.send({ type: 'requirement_down', id: 'db' });
    expect(h.c.state).toBe('STOPPING');
    expect(h.c.reason).toBe('requirement db stopped');
    h.waitingFor = ['db'];
    h.send({ type: 'exited', pid: h.c.pid as number, code: 0, signal: null, isKnown: true });
    expect(h.c.state).toBe('PENDING');
    expect(h.c.waitingFor).toEqual(['db']);
    expect(h.rec.desired.target).toBe('up');
    h.waitingFor = [];
    h.send({ type: 'dependencies' });
    expect(h.c.state).toBe('STARTING');
    expect(h.spawns).toBe(2);
  });

  it('ignores requirement_down when the child is down on purpose', () => {
    const h = new Harness({ requires: ['db'] });
    const r = h.send({ type: 'requirement_down', id: 'db' });
    expect(r.transitions).toEqual([]);
    expect(h.c.state).toBe('STOPPED');
  });
});

describe('the dependency graph of a host', () => {
  const node = (id: string, requires: string[] = [], after: string[] = []) => ({ id, requires, after });

  it('names both ends of an unknown id, a self-dependency and a cycle', () => {
    expect(dependencyProblems([node('a', ['ghost'])])).toEqual([
      { id: 'a', key: 'requires', message: "'a' requires 'ghost', which is not an agent instance of this host" },
    ]);
    expect(dependencyProblems([node('a', [], ['a'])])).toEqual([{ id: 'a', key: 'after', message: "'a' cannot depend on itself" }]);
    const cycle = dependencyProblems([node('a', ['b']), node('b', [], ['c']), node('c', ['a'])]);
    expect(cycle).toHaveLength(1);
    expect(cycle[0]?.message).toBe("dependency cycle: a -> b -> c -> a ('c' and 'a' wait for each other)");
    expect(dependencyProblems([node('a', ['b']), node('b', [], ['c']), node('c')])).toEqual([]);
  });

  it('orders starts in layers; stops go in reverse', () => {
    const layers = startLayers([node('web', ['api']), node('api', ['db'], ['cache']), node('db'), node('cache'), node('solo')]);
    expect(layers).toEqual([['db', 'cache', 'solo'], ['api'], ['web']]);
    expect(startLayers([node('x', ['y']), node('y', ['x']), node('z')])).toEqual([['z'], ['x', 'y']]);
  });
});
