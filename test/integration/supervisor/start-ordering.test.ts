import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Supervisor } from '../../../lib/supervisor/supervisor.js';
import type { SupervisedEntry } from '../../../lib/supervisor/supervised-entry.js';
import { assertBuilt, childCmd, superviseEntries } from './process-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(() => assertBuilt());

const supervise = (entries: SupervisedEntry[]) => superviseEntries(entries, cleanups);

/** ready after 0.4 s up: slow enough that an unordered start would show. */
const entry = (id: string, supervise: SupervisedEntry['supervise'] = {}, flags: (string | number)[] = ['--graceful']): SupervisedEntry => ({
  instanceId: id,
  manage: 'host/up',
  command: childCmd(...flags),
  ready: 'uptime',
  supervise: { minUptimeS: 0.4, ...supervise },
});

const order = (sup: Supervisor, to: string) =>
  sup
    .history(1000)
    .filter((h) => h.kind === 'transition' && h.to === to)
    .map((h) => h.id);

describe('start ordering with real processes', () => {
  it('starts a chain in order, each after the one before is ready, and stops it in reverse', async () => {
    // listed out of order on purpose
    const sup = await supervise([entry('web', { requires: ['api'] }), entry('api', { requires: ['db'], after: ['cache'] }), entry('db'), entry('cache')]);
    const waiting = sup.childStates().find((c) => c.instance_id === 'web');
    expect(waiting?.state).toBe('PENDING');
    expect(waiting?.waiting_for).toEqual(['api']);
    await sup.waitFor('web', (r) => r?.current.state === 'RUNNING', 15_000);
    const spawned = sup.history(1000).filter((h) => h.kind === 'transition' && h.to === 'STARTING');
    const startAt = (id: string) => spawned.find((h) => h.id === id)!.atMs;
    const readyAt = (id: string) => sup.history(1000).find((h) => h.kind === 'transition' && h.to === 'RUNNING' && h.id === id)!.atMs;
    expect(startAt('api')).toBeGreaterThanOrEqual(Math.max(readyAt('db'), readyAt('cache')));
    expect(startAt('web')).toBeGreaterThanOrEqual(readyAt('api'));
    expect(order(sup, 'RUNNING').slice(-2)).toEqual(['api', 'web']);

    const before = sup.history(1000).length;
    await sup.die({ mode: 'stop', timeoutMs: 10_000 });
    const stops = sup
      .history(1000)
      .slice(before)
      .filter((h) => h.kind === 'transition' && h.to === 'STOPPED')
      .map((h) => h.id);
    expect(stops.indexOf('web')).toBeLessThan(stops.indexOf('api'));
    expect(stops.indexOf('api')).toBeLessThan(stops.indexOf('db'));
    expect(stops.indexOf('api')).toBeLessThan(stops.indexOf('cache'));
  });

  it('stops a dependant when its requirement stops for good, and starts it again when the requirement is back', async () => {
    const sup = await supervise([entry('db'), entry('app', { requires: ['db'] })]);
    await sup.waitFor('app', (r) => r?.current.state === 'RUNNING', 15_000);
    sup.stop(['db']);
    const waiting = await sup.waitFor('app', (r) => r?.current.state === 'PENDING', 10_000);
    expect(waiting!.current.waitingFor).toEqual(['db']);
    expect(sup.history(500).some((h) => h.kind === 'transition' && h.id === 'app' && h.to === 'STOPPING' && h.cause === 'requirement db stopped')).toBe(true);
    sup.start(['db']);
    await sup.waitFor('app', (r) => r?.current.state === 'RUNNING', 15_000);
  });

  it('fails a start whose requirement never becomes ready, naming it', async () => {
    const sup = await supervise([entry('db', {}, ['--exit-code', 1, '--after-ms', 0]), entry('app', { requires: ['db'], dependencyTimeoutS: 1 })]);
    const rec = await sup.waitFor('app', (r) => r?.current.state === 'CRASHED', 15_000);
    expect(rec!.current.reason).toBe('dependency timeout: db not ready within 1 s');
  });
});
