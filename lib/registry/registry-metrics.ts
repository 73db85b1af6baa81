/**
 * The Registry's health figures for Prometheus (names `ocs_registry_*`): agents tracked by
 * status, heartbeats accepted and dropped (by reason), and the lifecycle changes it found
 * (expiries, recoveries, restarts, appearances). Counted by the Registry agent, read at scrape.
 */
import type { Counter, Registry } from 'prom-client';
import { counterReadAtScrape, promClient } from '../metrics/metrics-server.js';
import type { LivenessTrackerStats } from './liveness-tracker-options.js';

export interface RegistryFigures {
  stats(): LivenessTrackerStats;
  /** heartbeats accepted since start */
  readonly heartbeats: number;
  /** lifecycle events since start, by event name (`agent.expired`, ...) */
  readonly events: Readonly<Record<string, number>>;
}

const EVENT_METRICS: readonly [event: string, name: string, help: string][] = [
  ['agent.appeared', 'ocs_registry_appearances_total', 'agents heard for the first time'],
  ['agent.expired', 'ocs_registry_expiries_total', 'agents marked expired (no heartbeat for --agent-timeout)'],
  ['agent.recovered', 'ocs_registry_recoveries_total', 'expired agents heard again'],
  ['agent.restarted', 'ocs_registry_restarts_total', 'agent restarts recognised by a new feed session_id'],
];

export function registerRegistryMetrics(registry: Registry, figures: RegistryFigures): void {
  const registers = [registry];
  new promClient.Gauge({
    name: 'ocs_registry_agents',
    help: 'agents the registry tracks, by status',
    labelNames: ['status'],
    registers,
    collect() {
      const s = figures.stats();
      this.set({ status: 'live' }, s.live);
      this.set({ status: 'expired' }, s.expired);
    },
  });
  const counter = (name: string, help: string, read: () => number): void => counterReadAtScrape(registry, name, help, read);
  counter('ocs_registry_heartbeats_total', 'heartbeats accepted', () => figures.heartbeats);
  for (const [event, name, help] of EVENT_METRICS) counter(name, help, () => figures.events[event] ?? 0);
  const dropped: Counter = new promClient.Counter({
    name: 'ocs_registry_heartbeats_dropped_total',
    help: 'heartbeats dropped as junk or over the tracking cap, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      dropped.reset();
      for (const [reason, n] of Object.entries(figures.stats().dropped)) dropped.inc({ reason }, n);
    },
  });
}
