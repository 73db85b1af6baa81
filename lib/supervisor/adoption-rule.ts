/**
 * Which running processes a supervisor may take over (`open {pid}`) and then signal: only what
 * is provably ours. Pure: the facts come from /proc (`adoptionFacts`), the verdict from
 * `judgeAdoption`.
 *
 * - Never pid 1, the supervisor itself or any of its ancestors, whatever the options.
 * - A process that descends from the supervisor is ours.
 * - A process whose command line is `ocs agent ... --instance-id <id>` for an id of the site
 *   file is a configured agent instance, started by hand or by an earlier supervisor.
 * - Anything else only with exec enabled (`--allow-exec`), which already lets an operator run
 *   any command.
 */
import { basename } from 'node:path';
import type { ProcIdentity } from './proc-identity.js';

export interface AdoptionFacts {
  pid: number;
  supervisorPid: number;
  /** The supervisor's parent, grandparent, … up to pid 1. */
  supervisorAncestors: readonly number[];
  /** The candidate's parent, grandparent, … up to pid 1. */
  candidateAncestors: readonly number[];
  /** The candidate's argv; null when unreadable. */
  cmdline: readonly string[] | null;
  /** Instance ids of the site file. */
  instanceIds: ReadonlySet<string>;
  allowExec: boolean;
}

export type AdoptionVerdict = { ok: true; proof: string } | { ok: false; reason: string };

/** The `--instance-id` of an `ocs agent` command line, or undefined when it is not one. */
export function agentInstanceOf(argv: readonly string[]): string | undefined {
  const at = argv.findIndex((a, i) => (basename(a) === 'ocs' || basename(a) === 'ocs.js') && argv[i + 1] === 'agent');
  if (at < 0) return undefined;
  for (let i = at + 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--instance-id') return argv[i + 1];
    if (a.startsWith('--instance-id=')) return a.slice('--instance-id='.length);
  }
  return undefined;
}

export function judgeAdoption(f: AdoptionFacts): AdoptionVerdict {
  if (f.pid === 1) return { ok: false, reason: 'pid 1 is the init process' };
  if (f.pid === f.supervisorPid) return { ok: false, reason: 'that is the supervisor itself' };
  if (f.supervisorAncestors.includes(f.pid)) return { ok: false, reason: `pid ${f.pid} is an ancestor of the supervisor` };
  if (f.candidateAncestors.includes(f.supervisorPid)) return { ok: true, proof: 'descends from this supervisor' };
  const instance = f.cmdline === null ? undefined : agentInstanceOf(f.cmdline);
  if (instance !== undefined && f.instanceIds.has(instance)) return { ok: true, proof: `agent instance '${instance}' of the site file` };
  if (f.allowExec) return { ok: true, proof: 'exec enabled' };
  const what = instance !== undefined ? `an agent instance '${instance}' that the site file does not list` : 'not an agent instance of the site file (`ocs agent ... --instance-id <id>`)';
  return { ok: false, reason: `pid ${f.pid} is ${what} and does not descend from this supervisor; adopting other processes needs exec enabled (--allow-exec)` };
}

/** Parent, grandparent, … of `pid` up to pid 1, from /proc (stops at a loop or an unreadable entry). */
export function ancestorsOf(proc: ProcIdentity, pid: number): number[] {
  const out: number[] = [];
  let p = proc.readStat(pid)?.ppid;
  while (p !== undefined && p > 0 && !out.includes(p) && out.length < 4096) {
    out.push(p);
    if (p === 1) break;
    p = proc.readStat(p)?.ppid;
  }
  return out;
}

/** The facts judgeAdoption needs about `pid`, read from /proc. */
export function adoptionFacts(proc: ProcIdentity, pid: number, supervisorPid: number, instanceIds: ReadonlySet<string>, allowExec: boolean): AdoptionFacts {
  return {
    pid,
    supervisorPid,
    supervisorAncestors: ancestorsOf(proc, supervisorPid),
    candidateAncestors: ancestorsOf(proc, pid),
    cmdline: proc.cmdline(pid),
    instanceIds,
    allowExec,
  };
}
