import type { TimerHandle } from '../clock.js';
import { CHILD_STATES } from './child-record.js';
import type { SupervisorCore } from './event-loop.js';
import { addSample, assessUsage, readHostFacts, type HostFacts } from './resource-limits.js';

export interface ChildResourcesOptions {
  /** Sampling period; 0 turns sampling (and memory/CPU enforcement) off. */
  sampleMs: number;
  /** The span CPU shares are averaged over. */
  cpuWindowMs: number;
  facts?: HostFacts;
}

/**
 * The resource side of the supervisor: every `sampleMs`, one pass over /proc sums CPU ticks
 * and resident memory per child process group, keeps each run's usage window on its runtime
 * (what child_states shows), and sends `limit_exceeded` to a starting or running child whose
 * usage breaks its `memory-max` or `cpu-max`. The machine stops it as a failed run.
 */
export class ChildResources {
  private timer: TimerHandle | undefined;
  private readonly facts: HostFacts;

  constructor(
    private readonly core: SupervisorCore,
    readonly options: ChildResourcesOptions,
  ) {
    this.facts = options.facts ?? readHostFacts();
  }

  start(): void {
    if (this.options.sampleMs <= 0 || this.timer !== undefined) return;
    this.timer = this.core.clock.setInterval(() => this.sample(), this.options.sampleMs);
  }

  stop(): void {
    this.core.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sampling pass (also called directly by tests and the benchmark). */
  sample(): void {
    const core = this.core;
    if (core.phase !== 'running') return;
    const groups = new Set<number>();
    for (const rt of core.children.values()) {
      const c = rt.record.current;
      if (c.pid === null || c.state === CHILD_STATES.UNKNOWN) {
        rt.usage = null;
        continue;
      }
      groups.add(c.pgid ?? c.pid);
    }
    if (groups.size === 0) return;
    const sums = core.control.proc.usageByGroup(groups);
    const now = core.clock.nowMs();
    const breaches: { id: string; reason: string }[] = [];
    for (const rt of core.children.values()) {
      const c = rt.record.current;
      if (c.pid === null || c.state === CHILD_STATES.UNKNOWN) continue;
      const sum = sums.get(c.pgid ?? c.pid);
      if (sum === undefined) continue; // gone: the exit is seen by event or by the poll
      rt.usage = addSample(rt.usage, c.pid, { atMs: now, cpuTicks: sum.cpuTicks, rssBytes: sum.rssPages * this.facts.pageBytes }, this.options.cpuWindowMs, this.facts.ticksPerSecond);
      if (c.state !== CHILD_STATES.RUNNING && c.state !== CHILD_STATES.STARTING) continue;
      const reason = assessUsage(rt.record.spec.limits, rt.usage, this.options.cpuWindowMs);
      if (reason !== null) breaches.push({ id: rt.record.spec.id, reason });
    }
    for (const { id, reason } of breaches) {
      const rt = core.children.get(id);
      if (rt === undefined) continue;
      rt.logger.warn({ reason, pid: rt.record.current.pid, rss_bytes: rt.usage?.rssBytes, cpu_percent: rt.usage?.cpuPercent }, 'resource limit exceeded; stopping the child');
      core.audit({
        kind: 'event',
        id,
        event: 'child.limit_exceeded',
        message: reason,
        data: { pid: rt.record.current.pid, rss_bytes: rt.usage?.rssBytes ?? null, cpu_percent: rt.usage?.cpuPercent ?? null },
      });
      core.dispatch(id, { type: 'limit_exceeded', reason });
    }
  }
}
