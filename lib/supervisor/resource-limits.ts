import { execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { formatBytes } from '../site-config/resource-sizes.js';
import type { Limits } from './child-record.js';

/**
 * Resource limits of a child, the pure part: a window of usage samples, the CPU share over it,
 * and whether a sample breaks a limit (with the reason the history, the log and child_states
 * show). Plus the one launch-time limit, open files, applied by running the command under
 * util-linux's `prlimit`, which sets the limit and execs the command (same pid).
 *
 * cgroup v2 would let the kernel enforce memory and CPU itself; without a writable (delegated)
 * cgroup v2 subtree, which is the case on cgroup v1 hosts and in most containers, sampling is
 * what there is: a child is stopped at the first sample above `memory-max`, or when its CPU
 * share over the window is above `cpu-max`.
 */

export interface UsageSample {
  atMs: number;
  /** utime + stime of the process group, clock ticks. */
  cpuTicks: number;
  rssBytes: number;
}

/** What the supervisor knows of one run's usage. */
export interface RunUsage {
  pid: number;
  samples: UsageSample[];
  rssBytes: number;
  /** Percent of one core over the samples' span; null until two samples exist. */
  cpuPercent: number | null;
  /** Span the CPU share covers, ms. */
  spanMs: number;
}

/** Machine constants read once: clock ticks per second and the page size. */
export interface HostFacts {
  ticksPerSecond: number;
  pageBytes: number;
}

function getconf(name: string, fallback: number): number {
  try {
    const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(n) && n > 0 ? n : fallback;
  } catch {
    return fallback;
  }
}

let hostFacts: HostFacts | null = null;
export function readHostFacts(): HostFacts {
  hostFacts ??= { ticksPerSecond: getconf('CLK_TCK', 100), pageBytes: getconf('PAGESIZE', 4096) };
  return hostFacts;
}

/** Adds a sample and drops the ones older than the window (keeping one at or before its start). */
export function addSample(prev: RunUsage | null, pid: number, sample: UsageSample, windowMs: number, ticksPerSecond: number): RunUsage {
  const samples = prev !== null && prev.pid === pid ? [...prev.samples, sample] : [sample];
  while (samples.length > 2 && (samples[1] as UsageSample).atMs <= sample.atMs - windowMs) samples.shift();
  const first = samples[0] as UsageSample;
  const spanMs = sample.atMs - first.atMs;
  const cpuPercent = spanMs > 0 ? (((sample.cpuTicks - first.cpuTicks) / ticksPerSecond) * 100_000) / spanMs : null;
  return { pid, samples, rssBytes: sample.rssBytes, cpuPercent: cpuPercent === null ? null : Math.max(0, cpuPercent), spanMs };
}

const pct = (n: number) => `${Math.round(n)}%`;

/**
 * The breach a run's usage is in, or null. Memory: the latest sample. CPU: the share over a
 * span of at least 90% of the window (a start-up burst shorter than the window is not a breach).
 */
export function assessUsage(limits: Limits, usage: RunUsage, windowMs: number): string | null {
  if (limits.memoryMaxBytes !== null && usage.rssBytes > limits.memoryMaxBytes) {
    return `memory-max exceeded: ${formatBytes(usage.rssBytes)} > ${formatBytes(limits.memoryMaxBytes)}`;
  }
  if (limits.cpuMaxPercent !== null && usage.cpuPercent !== null && usage.spanMs >= windowMs * 0.9 && usage.cpuPercent > limits.cpuMaxPercent) {
    return `cpu-max exceeded: ${pct(usage.cpuPercent)} > ${pct(limits.cpuMaxPercent)} of one core over ${Math.round(usage.spanMs / 1000)} s`;
  }
  return null;
}

const PRLIMIT_PATHS = ['/usr/bin/prlimit', '/bin/prlimit'];
let prlimitPath: string | null | undefined;

/** util-linux's prlimit, or null when the host has none. */
export function findPrlimit(): string | null {
  if (prlimitPath !== undefined) return prlimitPath;
  prlimitPath = null;
  for (const p of PRLIMIT_PATHS) {
    try {
      accessSync(p, fsConstants.X_OK);
      prlimitPath = p;
      break;
    } catch {
      // next
    }
  }
  return prlimitPath;
}

/**
 * The argv that runs `cmd` with the launch-time limits (open files, soft and hard), or `cmd`
 * itself when there are none. Throws when a limit is set and the host has no prlimit: starting
 * the child without its limit would be a silent downgrade.
 */
export function withRlimits(cmd: readonly string[], limits: Limits, prlimit: string | null = findPrlimit()): string[] {
  if (limits.nofile === null) return [...cmd];
  if (prlimit === null) throw new Error('nofile is set but this host has no prlimit (util-linux) to apply it');
  return [prlimit, `--nofile=${limits.nofile}:${limits.nofile}`, '--', ...cmd];
}
