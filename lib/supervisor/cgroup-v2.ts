import { accessSync, constants as fsConstants, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Limits } from './child-record.js';

/**
 * Kernel-enforced limits through cgroup v2, when the host gives this process a writable
 * (delegated) subtree of the unified hierarchy, as systemd does with `Delegate=yes`:
 *
 * - detection (`detectCgroupV2`): `/proc/self/cgroup` is the one unified line `0::/path`, the
 *   directory offers the `memory` and `cpu` controllers, its `cgroup.procs` and
 *   `cgroup.subtree_control` are writable, and no other process lives in it (a shared cgroup,
 *   such as a login session's, is not ours to split). Otherwise the reason is returned and the
 *   supervisor samples /proc instead (resource-limits.ts).
 * - `prepare()`: the supervisor moves itself into a leaf `<base>/<name>` (a cgroup with children
 *   may hold no processes) and enables `+memory +cpu` for the children of `<base>`.
 * - one cgroup per run of a limited child, `<base>/<name>.<child id>`: `memory.max` (the kernel
 *   OOM-kills the group at the limit, systemd's `MemoryMax=`), `cpu.max` (the kernel throttles the
 *   group to the share, systemd's `CPUQuota=`); the pid is moved in right after the spawn and its
 *   descendants stay in it.
 * - usage from `memory.current` and `cpu.stat` `usage_usec`, and the OOM kills from
 *   `memory.events` (a kill is reported as the `memory-max` breach of the run).
 */

const CPU_PERIOD_US = 100_000;

export type CgroupDetection = { ok: true; base: string } | { ok: false; reason: string };

export interface CgroupPaths {
  /** Where /proc is (tests point it elsewhere). */
  procRoot?: string;
  /** Where the unified hierarchy is mounted. */
  cgroupRoot?: string;
}

function isWritable(path: string): boolean {
  try {
    accessSync(path, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** `pid`: this process; the subtree is delegated to it only if no other process lives in its cgroup. */
export function detectCgroupV2(paths: CgroupPaths = {}, pid: number = process.pid): CgroupDetection {
  const procRoot = paths.procRoot ?? '/proc';
  const cgroupRoot = paths.cgroupRoot ?? '/sys/fs/cgroup';
  let text: string;
  try {
    text = readFileSync(join(procRoot, 'self/cgroup'), 'utf8');
  } catch {
    return { ok: false, reason: 'no /proc/self/cgroup' };
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const unified = lines.find((l) => l.startsWith('0::'));
  if (unified === undefined || lines.length !== 1) return { ok: false, reason: 'not a cgroup v2 (unified) hierarchy' };
  const base = join(cgroupRoot, unified.slice(3).trim());
  let controllers: string[];
  try {
    controllers = readFileSync(join(base, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  } catch {
    return { ok: false, reason: `cgroup v2 directory ${base} not readable` };
  }
  const missing = ['memory', 'cpu'].filter((c) => !controllers.includes(c));
  if (missing.length > 0) return { ok: false, reason: `cgroup v2 controllers not delegated to ${base}: ${missing.join(', ')}` };
  if (!isWritable(base) || !isWritable(join(base, 'cgroup.procs')) || !isWritable(join(base, 'cgroup.subtree_control'))) {
    return { ok: false, reason: `cgroup v2 directory ${base} not writable (no delegated subtree)` };
  }
  // A cgroup with children may hold no processes: only one this process has to itself can be split.
  let others: string[];
  try {
    others = readFileSync(join(base, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l.trim() !== '' && Number(l) !== pid);
  } catch {
    return { ok: false, reason: `cgroup v2 directory ${base} not readable` };
  }
  if (others.length > 0) return { ok: false, reason: `cgroup v2 directory ${base} holds ${others.length} other process${others.length === 1 ? '' : 'es'} (not delegated to this one)` };
  return { ok: true, base };
}

export interface CgroupUsage {
  memoryBytes: number;
  cpuUsec: number;
  oomKills: number;
}

/** The supervisor's cgroup v2 subtree: its own leaf and one group per limited run. */
export class CgroupTree {
  constructor(
    readonly base: string,
    /** File-name safe name of this supervisor (its id). */
    readonly name: string,
  ) {}

  /** Moves `pid` (the supervisor) into its leaf and enables the controllers for the children. Throws with the reason. */
  prepare(pid: number): void {
    const leaf = join(this.base, this.name);
    mkdirSync(leaf, { recursive: true });
    writeFileSync(join(leaf, 'cgroup.procs'), `${pid}\n`);
    writeFileSync(join(this.base, 'cgroup.subtree_control'), '+memory +cpu\n');
  }

  /** Whether a run with these limits gets a cgroup (memory or CPU limited). */
  static isNeeded(limits: Limits): boolean {
    return limits.memoryMaxBytes !== null || limits.cpuMaxPercent !== null;
  }

  groupOf(childId: string): string {
    return join(this.base, `${this.name}.${childId}`);
  }

  /** Creates (or resets) the child's group with its limits; returns its path. */
  createGroup(childId: string, limits: Limits): string {
    const dir = this.groupOf(childId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'memory.max'), limits.memoryMaxBytes === null ? 'max\n' : `${limits.memoryMaxBytes}\n`);
    const quota = limits.cpuMaxPercent === null ? 'max' : String(Math.max(1000, Math.round((limits.cpuMaxPercent / 100) * CPU_PERIOD_US)));
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}\n`);
    return dir;
  }

  attach(dir: string, pid: number): void {
    writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
  }

  usage(dir: string): CgroupUsage | null {
    try {
      const memoryBytes = Number(readFileSync(join(dir, 'memory.current'), 'utf8').trim());
      const cpu = /^usage_usec (\d+)$/m.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'));
      const events = /^oom_kill (\d+)$/m.exec(readFileSync(join(dir, 'memory.events'), 'utf8'));
      if (!Number.isFinite(memoryBytes) || cpu === null) return null;
      return { memoryBytes, cpuUsec: Number(cpu[1]), oomKills: events === null ? 0 : Number(events[1]) };
    } catch {
      return null;
    }
  }

  /** Removes an empty group (after its run); a group that still holds processes stays. */
  remove(dir: string): void {
    try {
      rmdirSync(dir);
    } catch {
      // not empty, or gone
    }
  }
}
