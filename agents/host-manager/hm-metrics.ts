/**
 * The HostManager's health figures for Prometheus (names `ocs_hostmanager_*`), fed by the
 * events of whichever supervisor is open: children by state, exits by classification, restarts
 * by the classification of the exit before them, the time from spawn to RUNNING, and the verbs
 * called, by verb and result.
 */
import type { Counter, Histogram, Registry } from 'prom-client';
import { promClient } from '../../lib/metrics/metrics-server.js';
import { CHILD_STATES, type ChildState } from '../../lib/supervisor/child-record.js';
import type { ChildSummary, Supervisor } from '../../lib/supervisor/supervisor.js';

export const SPAWN_TO_READY_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

export class HostManagerMetrics {
  private readonly exits: Counter;
  private readonly restarts: Counter;
  private readonly verbs: Counter;
  private readonly spawnToReady: Histogram;
  private readonly spawnedAtMs = new Map<string, number>();
  private readonly lastExit = new Map<string, string>();

  constructor(registry: Registry, summaries: () => readonly ChildSummary[]) {
    const registers = [registry];
    new promClient.Gauge({
      name: 'ocs_hostmanager_children',
      help: 'supervised children, by state',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<ChildState, number>(Object.values(CHILD_STATES).map((s) => [s, 0]));
        for (const c of summaries()) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    this.exits = new promClient.Counter({ name: 'ocs_hostmanager_exits_total', help: 'child process exits, by classification', labelNames: ['classification'], registers });
    this.restarts = new promClient.Counter({ name: 'ocs_hostmanager_restarts_total', help: 'restarts of a child, by the classification of the exit before them', labelNames: ['cause'], registers });
    this.verbs = new promClient.Counter({ name: 'ocs_hostmanager_verbs_total', help: 'supervisor requests (verbs), by verb and result', labelNames: ['verb', 'result'], registers });
    this.spawnToReady = new promClient.Histogram({
      name: 'ocs_hostmanager_spawn_to_ready_seconds',
      help: 'time from a child’s spawn to RUNNING (its first heartbeat, or its minimum uptime)',
      buckets: SPAWN_TO_READY_BUCKETS_S,
      registers,
    });
  }

  /** Follows a newly opened supervisor's events. */
  attach(sup: Supervisor): void {
    sup.on('child.spawned', ({ id, attempt }) => {
      this.spawnedAtMs.set(id, performance.now());
      if (attempt > 1) this.restarts.inc({ cause: this.lastExit.get(id) ?? 'unknown' });
    });
    sup.on('child.exited', ({ id, classification }) => {
      const c = classification ?? 'unknown';
      this.lastExit.set(id, c);
      this.exits.inc({ classification: c });
    });
    sup.on('child.transitioned', ({ id, to }) => {
      if (to !== CHILD_STATES.RUNNING) return;
      const at = this.spawnedAtMs.get(id);
      if (at === undefined) return;
      this.spawnedAtMs.delete(id);
      this.spawnToReady.observe((performance.now() - at) / 1000);
    });
    sup.on('history.appended', (rec) => {
      if (rec.kind === 'request' && rec.verb !== undefined) this.verbs.inc({ verb: rec.verb, result: rec.ok === true ? 'ok' : 'refused' });
    });
  }
}
