import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SupervisorOptions } from '../../../lib/supervisor/supervisor.js';
import type { SupervisedEntry } from '../../../lib/supervisor/supervised-entry.js';
import { waitFor } from '../../helpers/wait.js';
import { assertBuilt, childCmd, removeDir, superviseEntries } from './process-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(() => assertBuilt());

const MB = 1024 * 1024;

const supervise = (entries: SupervisedEntry[], options: Partial<SupervisorOptions> = {}) => superviseEntries(entries, cleanups, { resourceSampleMs: 200, cpuWindowMs: 1000, ...options });

const entry = (id: string, flags: (string | number)[], supervise: SupervisedEntry['supervise'] = {}): SupervisedEntry => ({
  instanceId: id,
  manage: 'host/up',
  command: childCmd(...flags),
  ready: 'uptime',
  supervise: { minUptimeS: 0.2, backoffInitialS: 0.2, ...supervise },
});

describe('resource limits on real processes', () => {
  it('shows every child’s RSS and CPU in child_states', async () => {
    const sup = await supervise([entry('idle', [])]);
    await waitFor(() => (sup.childStates()[0]?.rss_bytes ?? 0) > 0 && sup.childStates()[0]?.cpu_percent !== null, { timeoutMs: 10_000 });
    const e = sup.childStates()[0]!;
    // a node process: some tens of MB resident, far from a core at rest
    expect(e.rss_bytes).toBeGreaterThan(10 * MB);
    expect(e.rss_bytes).toBeLessThan(500 * MB);
    expect(e.cpu_percent).toBeGreaterThanOrEqual(0);
    expect(e.limit_breach).toBeNull();
  });

  it('stops a child that allocates past memory-max, counts it as a failure and restarts it under the policy', async () => {
    const sup = await supervise([entry('leaky', ['--grow-mb', 160, '--grow-after-ms', 300, '--ignore-sigterm'], { memoryMaxBytes: 96 * MB, stopTimeoutS: 0.5, maxFailures: 1, failureWindowS: 60 })]);
    const first = await sup.waitFor('leaky', (r) => r?.current.state === 'RUNNING', 10_000);
    const pid1 = first!.current.pid;
    // Breach → SIGTERM (ignored) → SIGKILL after the stop timeout → failure → BACKOFF → second run.
    await sup.waitFor('leaky', (r) => (r?.current.restarts ?? 0) >= 1, 15_000);
    const history = sup.history(500).filter((h) => h.id === 'leaky');
    const breach = history.find((h) => h.kind === 'event' && h.event === 'child.limit_exceeded');
    expect(breach?.message).toMatch(/^memory-max exceeded: \d+(\.\d)? MB > 96 MB$/);
    const stopping = history.find((h) => h.kind === 'transition' && h.to === 'STOPPING');
    expect(stopping?.cause).toBe(breach?.message);
    expect(history.some((h) => h.kind === 'transition' && h.from === 'STOPPING' && h.to === 'BACKOFF' && (h.cause ?? '').startsWith('memory-max exceeded'))).toBe(true);
    // SIGTERM was ignored: the kill came after the stop timeout
    const exited = history.find((h) => h.kind === 'event' && h.event === 'child.exited');
    expect((exited?.data as { signal: string | null }).signal).toBe('SIGKILL');
    // the second run leaks too: the budget (1 failure) is spent and the child is CRASHED with the reason
    const crashed = await sup.waitFor('leaky', (r) => r?.current.state === 'CRASHED', 15_000);
    expect(crashed!.current.pid).toBeNull();
    expect(crashed!.current.lastExit?.message).toMatch(/^memory-max exceeded: .* > 96 MB/);
    expect(crashed!.current.lastExit?.classification).toBe('failure');
    const entryNow = sup.childStates()[0]!;
    expect(entryNow.limit_breach).toMatch(/^memory-max exceeded: .* > 96 MB$/);
    expect(entryNow.state).toBe('CRASHED');
    expect(pid1).not.toBeNull();
  });

  it('stops a child that spins past cpu-max over the window', async () => {
    const sup = await supervise([entry('spinner', ['--spin'], { cpuMaxPercent: 40, restart: 'never' })]);
    const rec = await sup.waitFor('spinner', (r) => r?.current.state === 'EXITED' || r?.current.state === 'CRASHED', 15_000);
    expect(rec!.current.limitBreach).toMatch(/^cpu-max exceeded: \d+% > 40% of one core over 1 s$/);
  });

  it('runs the child with its open-files limit (prlimit, same pid)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocs-nofile-'));
    cleanups.push(() => removeDir(dir));
    const file = join(dir, 'limits');
    const sup = await supervise([entry('files', ['--limits-file', file], { nofile: 321 })]);
    const rec = await sup.waitFor('files', (r) => r?.current.state === 'RUNNING', 10_000);
    await waitFor(() => {
      try {
        return readFileSync(file, 'utf8').length > 0;
      } catch {
        return false;
      }
    }, { timeoutMs: 10_000 });
    expect(readFileSync(file, 'utf8')).toMatch(/^Max open files\s+321\s+321\s+files/);
    // prlimit execs the command: the recorded pid is the agent itself
    expect(readFileSync(`/proc/${rec!.current.pid}/cmdline`, 'utf8')).toContain('child.js');
  });
});
