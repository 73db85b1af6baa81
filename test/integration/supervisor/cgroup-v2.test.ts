/**
 * cgroup v2 enforcement, wired with real child processes against a cgroup tree in a temp
 * directory (this host, like most CI machines, has no delegated cgroup v2 subtree; the kernel's
 * part, the OOM kill and the throttling, cannot be exercised here). The tree holds the files the
 * kernel would: the supervisor writes its pid and the child's into `cgroup.procs`, the limits
 * into `memory.max` / `cpu.max`, and reads the counters the test writes.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupV2 } from '../../../lib/supervisor/cgroup-v2.js';
import type { SupervisedEntry } from '../../../lib/supervisor/supervised-entry.js';
import { waitFor } from '../../helpers/wait.js';
import { assertBuilt, childCmd, removeDir, superviseEntries } from './process-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(() => assertBuilt());

const MB = 1024 * 1024;

/** A fake /proc/self/cgroup and cgroup root with the supervisor's directory `/ocs.slice/hm`. */
function fakeTree(options: { cgroupLines?: string; controllers?: string } = {}): { procRoot: string; cgroupRoot: string; base: string } {
  const root = mkdtempSync(join(tmpdir(), 'ocs-cgroup-'));
  cleanups.push(() => removeDir(root));
  const procRoot = join(root, 'proc');
  const cgroupRoot = join(root, 'cgroup');
  const base = join(cgroupRoot, 'ocs.slice', 'hm');
  mkdirSync(join(procRoot, 'self'), { recursive: true });
  mkdirSync(base, { recursive: true });
  writeFileSync(join(procRoot, 'self', 'cgroup'), options.cgroupLines ?? '0::/ocs.slice/hm\n');
  writeFileSync(join(base, 'cgroup.controllers'), options.controllers ?? 'cpuset cpu io memory pids\n');
  writeFileSync(join(base, 'cgroup.procs'), '');
  writeFileSync(join(base, 'cgroup.subtree_control'), '');
  return { procRoot, cgroupRoot, base };
}

describe('cgroup v2 detection', () => {
  it('takes a delegated unified subtree, and names what is missing otherwise', () => {
    const ok = fakeTree();
    expect(detectCgroupV2(ok)).toEqual({ ok: true, base: ok.base });
    expect(detectCgroupV2(fakeTree({ cgroupLines: '12:memory:/\n0::/\n' }))).toEqual({ ok: false, reason: 'not a cgroup v2 (unified) hierarchy' });
    const shared = fakeTree();
    writeFileSync(join(shared.base, 'cgroup.procs'), `${process.pid}\n1234567\n`);
    expect(detectCgroupV2(shared)).toMatchObject({ ok: false, reason: expect.stringMatching(/holds 1 other process \(not delegated to this one\)$/) });
    expect(detectCgroupV2(fakeTree({ controllers: 'cpuset io pids\n' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/^cgroup v2 controllers not delegated to .*: memory, cpu$/) });
    // this host: cgroup v1 (or no delegation): sampling
    expect(detectCgroupV2().ok).toBe(false);
  });
});

describe('cgroup v2 with real processes (the tree in a temp directory)', () => {
  const entry = (id: string, supervise: SupervisedEntry['supervise']): SupervisedEntry => ({
    instanceId: id,
    manage: 'host/up',
    command: childCmd(),
    ready: 'uptime',
    supervise: { minUptimeS: 0.2, backoffInitialS: 0.2, ...supervise },
  });

  it('puts a limited run in its own cgroup with memory.max and cpu.max, reads its counters, and reports an OOM kill as the memory-max breach', async () => {
    const tree = fakeTree();
    const sup = await superviseEntries([entry('capped', { memoryMaxBytes: 64 * MB, cpuMaxPercent: 50 }), entry('free', {})], cleanups, {
      resourceSampleMs: 100,
      cgroupPaths: { procRoot: tree.procRoot, cgroupRoot: tree.cgroupRoot },
    });
    expect(sup.status().supervisor.limits_enforcement).toBe('cgroup v2');
    // the supervisor moved into its own leaf and gave its children the controllers
    const leaf = join(tree.base, 'ocs-sup-00');
    expect(readFileSync(join(leaf, 'cgroup.procs'), 'utf8')).toBe(`${process.pid}\n`);
    expect(readFileSync(join(tree.base, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu\n');

    const rec = await sup.waitFor('capped', (r) => r?.current.state === 'RUNNING', 10_000);
    const pid = rec!.current.pid!;
    const group = join(tree.base, 'ocs-sup-00.capped');
    expect(readFileSync(join(group, 'memory.max'), 'utf8')).toBe(`${64 * MB}\n`);
    expect(readFileSync(join(group, 'cpu.max'), 'utf8')).toBe('50000 100000\n');
    expect(readFileSync(join(group, 'cgroup.procs'), 'utf8')).toBe(`${pid}\n`);
    // an unlimited child is sampled from /proc, in no cgroup of its own
    await sup.waitFor('free', (r) => r?.current.state === 'RUNNING', 10_000);
    expect(() => readFileSync(join(tree.base, 'ocs-sup-00.free', 'cgroup.procs'))).toThrow();

    // the kernel's counters, as the sampler reads them
    writeFileSync(join(group, 'memory.current'), `${40 * MB}\n`);
    writeFileSync(join(group, 'cpu.stat'), 'usage_usec 1000\nuser_usec 800\nsystem_usec 200\n');
    writeFileSync(join(group, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n');
    await waitFor(() => sup.childStates().find((c) => c.instance_id === 'capped')?.rss_bytes === 40 * MB, { timeoutMs: 5000 });
    expect(sup.childStates().find((c) => c.instance_id === 'free')!.rss_bytes).toBeGreaterThan(MB);

    // the kernel kills the group at memory.max: an OOM kill in memory.events, the process gone
    writeFileSync(join(group, 'memory.events'), 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n');
    process.kill(pid, 'SIGKILL');
    const after = await sup.waitFor('capped', (r) => (r?.current.restarts ?? 0) >= 1, 10_000);
    const reason = 'memory-max exceeded: killed by the kernel at 64 MB (cgroup v2 memory.max)';
    expect(after!.current.limitBreach).toBe(reason);
    expect(sup.history(200).some((h) => h.kind === 'event' && h.event === 'child.limit_exceeded' && h.message === reason)).toBe(true);
    expect(sup.history(200).some((h) => h.kind === 'transition' && h.id === 'capped' && h.to === 'BACKOFF' && (h.cause ?? '').startsWith(reason))).toBe(true);
  });

  it('falls back to sampling, with the reason, when cgroups are off or the host has none', async () => {
    const tree = fakeTree();
    const off = await superviseEntries([], cleanups, { cgroups: 'off', cgroupPaths: { procRoot: tree.procRoot, cgroupRoot: tree.cgroupRoot } });
    expect(off.status().supervisor.limits_enforcement).toBe('sampling (cgroups off)');
    const v1 = fakeTree({ cgroupLines: '4:memory:/\n0::/\n' });
    const sampled = await superviseEntries([], cleanups, { cgroupPaths: { procRoot: v1.procRoot, cgroupRoot: v1.cgroupRoot } });
    expect(sampled.status().supervisor.limits_enforcement).toBe('sampling (not a cgroup v2 (unified) hierarchy)');
  });
});
