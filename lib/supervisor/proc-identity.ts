import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Process identity from /proc: a pid alone is not an identity (pids are reused, zombies still
 * answer kill 0). (pid, starttime in clock ticks since boot, boot id) is. Linux only.
 */

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z, T, t, X, … */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Field 22: start time after boot in clock ticks. */
  startTicks: number;
}

/** The fields of /proc/<pid>/stat after the comm: `rest[N - 3]` is field N (man 5 proc). */
function statRest(text: string): { pid: number; open: number; close: number; rest: string[] } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  return { pid: Number(text.slice(0, open).trim()), open, close, rest: text.slice(close + 2).trim().split(/\s+/) };
}

/** What a process uses, from /proc/<pid>/stat: CPU (utime + stime, clock ticks) and resident pages. */
export interface ProcUsage {
  pid: number;
  pgrp: number;
  /** Fields 14 + 15: user and system time in clock ticks. */
  cpuTicks: number;
  /** Field 24: resident set size in pages. */
  rssPages: number;
}

export function parseProcUsage(text: string): ProcUsage | null {
  const f = statRest(text);
  if (f === null) return null;
  const pgrp = Number(f.rest[2]);
  const cpuTicks = Number(f.rest[11]) + Number(f.rest[12]);
  const rssPages = Number(f.rest[21]);
  if (!Number.isInteger(f.pid) || !Number.isFinite(pgrp) || !Number.isFinite(cpuTicks) || !Number.isFinite(rssPages)) return null;
  return { pid: f.pid, pgrp, cpuTicks, rssPages };
}

/** Parses /proc/<pid>/stat. The comm field may hold spaces and parentheses: split after the last ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const f = statRest(text);
  if (f === null) return null;
  const { pid, open, close, rest } = f;
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const state = rest[0];
  const startTicks = Number(rest[19]);
  if (!Number.isInteger(pid) || state === undefined || !Number.isFinite(startTicks)) return null;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state,
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    session: Number(rest[3]),
    startTicks,
  };
}

/** A zombie (Z) or dead (X) process is gone for every purpose of ours. */
export function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}

/** Stopped by a signal (T) or by a tracer (t). */
export function isStoppedState(state: string): boolean {
  return state === 'T' || state === 't';
}

export type ProbeResult =
  | { status: 'alive'; stat: ProcStat }
  | { status: 'gone' }
  | { status: 'zombie'; stat: ProcStat }
  /** The pid exists but is another process (start time differs). */
  | { status: 'reused'; stat: ProcStat };

export class ProcIdentity {
  constructor(readonly root: string = '/proc') {}

  readStat(pid: number): ProcStat | null {
    try {
      return parseProcStat(readFileSync(join(this.root, String(pid), 'stat'), 'utf8'));
    } catch {
      return null;
    }
  }

  /** The kernel's boot id; changes on every boot, voiding every recorded pid. */
  bootId(): string {
    try {
      return readFileSync(join(this.root, 'sys/kernel/random/boot_id'), 'utf8').trim();
    } catch {
      return 'unknown';
    }
  }

  /** Whether `pid` is still the process that had `startTicks` (null: any live process). */
  probe(pid: number, startTicks: number | null): ProbeResult {
    const stat = this.readStat(pid);
    if (stat === null) return { status: 'gone' };
    if (startTicks !== null && stat.startTicks !== startTicks) return { status: 'reused', stat };
    if (isDeadState(stat.state)) return { status: 'zombie', stat };
    return { status: 'alive', stat };
  }

  cmdline(pid: number): string[] | null {
    try {
      const raw = readFileSync(join(this.root, String(pid), 'cmdline'), 'utf8');
      return raw.split('\0').filter((s, i, all) => s !== '' || i < all.length - 1);
    } catch {
      return null;
    }
  }

  /** The environment a process started with; null when unreadable (another user's process). */
  environ(pid: number): Record<string, string> | null {
    try {
      const raw = readFileSync(join(this.root, String(pid), 'environ'), 'utf8');
      const env: Record<string, string> = {};
      for (const kv of raw.split('\0')) {
        const eq = kv.indexOf('=');
        if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      return env;
    } catch {
      return null;
    }
  }

  /**
   * CPU ticks and resident pages summed per process group, for the groups asked for: one pass
   * over /proc (a child's forks count against its limits; each child leads its own group).
   */
  usageByGroup(pgrps: ReadonlySet<number>): Map<number, { cpuTicks: number; rssPages: number; processes: number }> {
    const out = new Map<number, { cpuTicks: number; rssPages: number; processes: number }>();
    if (pgrps.size === 0) return out;
    for (const pid of this.pids()) {
      let text: string;
      try {
        text = readFileSync(join(this.root, String(pid), 'stat'), 'utf8');
      } catch {
        continue; // exited between the listing and the read
      }
      const u = parseProcUsage(text);
      if (u === null || !pgrps.has(u.pgrp)) continue;
      const sum = out.get(u.pgrp);
      if (sum === undefined) out.set(u.pgrp, { cpuTicks: u.cpuTicks, rssPages: u.rssPages, processes: 1 });
      else {
        sum.cpuTicks += u.cpuTicks;
        sum.rssPages += u.rssPages;
        sum.processes += 1;
      }
    }
    return out;
  }

  pids(): number[] {
    try {
      return readdirSync(this.root)
        .filter((n) => /^\d+$/.test(n))
        .map(Number);
    } catch {
      return [];
    }
  }
}
