import type { TimerHandle } from '../clock.js';
import { formatBytes } from '../site-config/resource-sizes.js';
import { CHILD_STATES } from './child-record.js';
import { CgroupTree, detectCgroupV2, type CgroupPaths } from './cgroup-v2.js';
import type { SupervisorCore } from './event-loop.js';
import { addSample, assessUsage, readHostFacts, type HostFacts } from './resource-limits.js';
import type { ChildRuntime } from './supervisor-types.js';

export interface ChildResourcesOptions {
  /** Sampling period; 0 turns sampling (and memory/CPU enforcement) off. */
  sampleMs: number;
  /** The span CPU shares are averaged over. */
  cpuWindowMs: number;
  /** auto: kernel limits through cgroup v2 when this process has a delegated subtree; off: sampling only. */
  cgroups: 'auto' | 'off';
  cgroupPaths?: CgroupPaths;
  facts?: HostFacts;
}

/**
 * The resource side of the supervisor: every `sampleMs`, one pass over /proc sums CPU ticks
 * and resident memory per child process group, keeps each run's usage window on its runtime
 * (what child_states shows), and sends `limit_exceeded` to a starting or running child whose
 * usage breaks its `memory-max` or `cpu-max`. The machine stops it as a failed run.
 *
 * With cgroup v2 (cgroup-v2.ts) a limited run gets its own cgroup: the kernel enforces
 * `memory.max` (an OOM kill, reported as the run's memory-max breach) and throttles to `cpu.max`;
 * the usage then comes from the cgroup's counters and nothing is stopped by sampling.
 */
export class ChildResources {
  private timer: TimerHandle | undefined;
  private readonly facts: HostFacts;
  private cgroups: CgroupTree | null = null;
  /** `cgroup v2` or `sampling (<why not cgroup v2>)`, shown in the status. */
  enforcement = 'sampling';

  constructor(
    private readonly core: SupervisorCore,
    readonly options: ChildResourcesOptions,
  ) {
    this.facts = options.facts ?? readHostFacts();
  }

  /**
   * Before the first start: takes the cgroup v2 subtree when there is one (the supervisor moves
   * into its own leaf). Anything in the way leaves sampling, with the reason in `enforcement`.
   */
  setUp(): void {
    if (this.options.cgroups === 'off') {
      this.enforcement = 'sampling (cgroups off)';
      return;
    }
    const found = detectCgroupV2(this.options.cgroupPaths, this.core.pid);
    if (!found.ok) {
      this.enforcement = `sampling (${found.reason})`;
      return;
    }
    const tree = new CgroupTree(found.base, `ocs-${this.core.supervisorId}`);
    try {
      tree.prepare(this.core.pid);
    } catch (err) {
      this.enforcement = `sampling (cgroup v2 at ${found.base} not usable: ${(err as Error).message})`;
      this.core.log.warn({ base: found.base, err }, 'cgroup v2 subtree not usable; limits are enforced by sampling');
      return;
    }
    this.cgroups = tree;
    this.enforcement = 'cgroup v2';
    this.core.log.info({ base: found.base }, 'resource limits enforced by cgroup v2');
  }

  /** A run was spawned: a limited one goes into its own cgroup (cgroup v2 only). */
  placeRun(rt: ChildRuntime, pid: number): void {
    rt.cgroupDir = null;
    rt.oomKills = 0;
    const tree = this.cgroups;
    if (tree === null || !CgroupTree.isNeeded(rt.record.spec.limits)) return;
    try {
      const dir = tree.createGroup(rt.record.spec.id, rt.record.spec.limits);
      rt.oomKills = tree.usage(dir)?.oomKills ?? 0;
      tree.attach(dir, pid);
      rt.cgroupDir = dir;
    } catch (err) {
      rt.logger.warn({ err, pid }, 'child not placed in its cgroup; its limits are enforced by sampling');
    }
  }

  /**
   * The run's cgroup saw an OOM kill since it started: the memory-max breach, sent to the
   * machine (before the exit is, so the run ends as a breach). Returns whether there was one.
   */
  checkOom(rt: ChildRuntime): boolean {
    const dir = rt.cgroupDir;
    if (dir === null || this.cgroups === null) return false;
    const usage = this.cgroups.usage(dir);
    if (usage === null || usage.oomKills <= rt.oomKills) return false;
    rt.oomKills = usage.oomKills;
    const max = rt.record.spec.limits.memoryMaxBytes;
    const reason = `memory-max exceeded: killed by the kernel at ${max === null ? 'its limit' : formatBytes(max)} (cgroup v2 memory.max)`;
    this.breach(rt, reason);
    return true;
  }

  /** A run ended: its cgroup goes once empty. */
  releaseRun(rt: ChildRuntime): void {
    if (rt.cgroupDir !== null) this.cgroups?.remove(rt.cgroupDir);
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
      if (rt.cgroupDir === null) groups.add(c.pgid ?? c.pid);
    }
    const sums = groups.size === 0 ? new Map() : core.control.proc.usageByGroup(groups);
    const now = core.clock.nowMs();
    const breaches: { rt: ChildRuntime; reason: string }[] = [];
    for (const rt of core.children.values()) {
      const c = rt.record.current;
      if (c.pid === null || c.state === CHILD_STATES.UNKNOWN) continue;
      const sample = this.sampleOf(rt, c.pgid ?? c.pid, sums);
      if (sample === null) continue; // gone: the exit is seen by event or by the poll
      rt.usage = addSample(rt.usage, c.pid, { atMs: now, ...sample }, this.options.cpuWindowMs, this.facts.ticksPerSecond);
      if (c.state !== CHILD_STATES.RUNNING && c.state !== CHILD_STATES.STARTING) continue;
      if (rt.cgroupDir !== null) {
        this.checkOom(rt); // the kernel enforces this run's limits; an OOM kill is its breach
        continue;
      }
      const reason = assessUsage(rt.record.spec.limits, rt.usage, this.options.cpuWindowMs);
      if (reason !== null) breaches.push({ rt, reason });
    }
    for (const { rt, reason } of breaches) if (core.children.get(rt.record.spec.id) === rt) this.breach(rt, reason);
  }

  /** CPU ticks and resident bytes of a run: its cgroup's counters, or its process group's /proc sums. */
  private sampleOf(rt: ChildRuntime, group: number, sums: Map<number, { cpuTicks: number; rssPages: number }>): { cpuTicks: number; rssBytes: number } | null {
    if (rt.cgroupDir !== null && this.cgroups !== null) {
      const u = this.cgroups.usage(rt.cgroupDir);
      return u === null ? null : { cpuTicks: (u.cpuUsec / 1e6) * this.facts.ticksPerSecond, rssBytes: u.memoryBytes };
    }
    const sum = sums.get(group);
    return sum === undefined ? null : { cpuTicks: sum.cpuTicks, rssBytes: sum.rssPages * this.facts.pageBytes };
  }

  private breach(rt: ChildRuntime, reason: string): void {
    const core = this.core;
    const id = rt.record.spec.id;
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
