import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { ChildSpecSchema, newChildRecord } from '../../../lib/supervisor/child-record.js';
import { ProcIdentity } from '../../../lib/supervisor/proc-identity.js';
import { StateStore } from '../../../lib/supervisor/state-store.js';
import type { SupervisedEntry } from '../../../lib/supervisor/supervised-entry.js';
import { Supervisor } from '../../../lib/supervisor/supervisor.js';
import { waitFor } from '../../helpers/wait.js';
import { assertBuilt, childCmd, isAlive, killEverything, killPids, makeStateDir, procState, removeDir, SupervisorHost, type HostMessage } from './process-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
beforeAll(() => assertBuilt());

type ChildMap = Record<string, { state: string; pid: number | null; attempt: number }>;

function newStateDir(): string {
  const dir = makeStateDir();
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => killEverything(dir));
  return dir;
}

async function startHost(stateDir: string, entries?: SupervisedEntry[], index = 0): Promise<{ host: SupervisorHost; ready: HostMessage }> {
  const args = ['--state-dir', stateDir, '--index', String(index)];
  if (entries) {
    const file = join(stateDir, `entries-${index}.json`);
    writeFileSync(file, JSON.stringify(entries));
    args.push('--entries-file', file);
  }
  const started = await SupervisorHost.start(args);
  cleanups.push(() => started.host.stop());
  return started;
}

async function childrenOf(host: SupervisorHost): Promise<ChildMap> {
  return (await host.request('status')).children as ChildMap;
}

/** Polls the host's children until `check` holds (generous: node children start slowly on a loaded two-core machine). */
async function waitChildren(host: SupervisorHost, check: (c: ChildMap) => boolean, what: string): Promise<ChildMap> {
  let last: ChildMap = {};
  await waitFor(
    async () => {
      last = await childrenOf(host);
      return check(last);
    },
    { timeoutMs: 20_000, intervalMs: 50, what },
  );
  return last;
}

const entry = (id: string, ...flags: (string | number)[]): SupervisedEntry => ({
  instanceId: id,
  manage: 'host/up',
  command: childCmd(...flags),
  ready: 'uptime',
  supervise: { minUptimeS: 0 },
});

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('supervisor restart and reconciliation', () => {
  it('re-adopts all five children after a SIGKILL of the supervisor and starts no duplicate', async () => {
    const stateDir = newStateDir();
    const startFile = join(stateDir, 'starts.txt');
    const entries = [0, 1, 2, 3, 4].map((i) => entry(`c${i}`, '--graceful', '--start-file', startFile));
    const first = await startHost(stateDir, entries);
    expect((first.ready.report as { started: string[] }).started).toHaveLength(5);
    const running = await waitChildren(first.host, (c) => Object.values(c).filter((x) => x.state === 'RUNNING').length === 5, 'five running');
    await waitFor(() => lines(startFile).length === 5, { timeoutMs: 20_000, what: 'five starts' });
    const pids = Object.values(running).map((c) => c.pid ?? 0);

    await first.host.kill9();
    for (const pid of pids) expect(isAlive(pid)).toBe(true);

    const second = await startHost(stateDir, entries);
    const report = second.ready.report as { adopted: string[]; started: string[]; vanished: string[] };
    expect(report.adopted.sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(report.started).toEqual([]);
    expect(report.vanished).toEqual([]);
    const after = second.ready.children as ChildMap;
    expect(Object.values(after).map((c) => c.pid).sort()).toEqual([...pids].sort());
    expect(Object.values(after).every((c) => c.state === 'RUNNING')).toBe(true);
    // Let the poll run a few times: still exactly five starts, no duplicate.
    await new Promise((r) => setTimeout(r, 600));
    expect(lines(startFile)).toHaveLength(5);

    // An adopted child that dies is found by the /proc poll (exit unknown) and restarted.
    const victim = after['c2']?.pid ?? 0;
    process.kill(victim, 'SIGKILL');
    const restarted = await waitChildren(second.host, (c) => c['c2']?.state === 'RUNNING' && c['c2'].pid !== victim, 'c2 replaced');
    expect(restarted['c2']?.pid).not.toBe(victim);
    const status = (await second.host.request('status')).status as { services: Record<string, { last_exit: { exit: unknown } | null }> };
    expect(status.services['c2']?.last_exit?.exit).toBe('unknown');
    await waitFor(() => lines(startFile).length === 6, { timeoutMs: 20_000, what: 'six starts' });
  });

  it('finishes an interrupted stop, keeps a suspension, and keeps operator stops across restarts', async () => {
    const stateDir = newStateDir();
    const startFile = join(stateDir, 'starts.txt');
    // stub's stop timeout leaves room to see it still STOPPING once plain has stopped.
    const entries = [
      { ...entry('stub', '--ignore-sigint', '--start-file', startFile), supervise: { minUptimeS: 0, stopTimeoutS: 5 } },
      entry('sus'),
      entry('plain', '--graceful', '--start-file', startFile),
    ];
    const first = await startHost(stateDir, entries);
    const running = await waitChildren(first.host, (c) => Object.values(c).every((x) => x.state === 'RUNNING'), 'all running');
    // stub and plain write their start line once their signal handlers are in place.
    await waitFor(() => lines(startFile).length === 2, { timeoutMs: 20_000, what: 'stub and plain set up' });
    await first.host.request('stop', 'stub');
    await first.host.request('suspend', 'sus');
    await first.host.request('stop', 'plain');
    await waitChildren(first.host, (c) => c['plain']?.state === 'STOPPED' && c['stub']?.state === 'STOPPING', 'stopping');
    await first.host.kill9();
    const stubPid = running['stub']?.pid ?? 0;
    expect(isAlive(stubPid)).toBe(true);

    const second = await startHost(stateDir, entries);
    const c0 = second.ready.children as ChildMap;
    expect(c0['sus']).toMatchObject({ state: 'SUSPENDED', pid: running['sus']?.pid });
    // Kept stopped (a SIGSTOP sent just before the kill takes effect once the process is scheduled).
    await waitFor(() => procState(running['sus']?.pid ?? 0) === 'T', { timeoutMs: 5000, what: 'sus stopped' });
    expect(c0['stub']?.state).toBe('STOPPING');
    expect(c0['plain']?.state).toBe('STOPPED');
    await waitChildren(second.host, (c) => c['stub']?.state === 'STOPPED', 'stub stopped after escalation');
    expect(isAlive(stubPid)).toBe(false);

    // An orderly restart with the same config: the operator's stops still hold.
    await second.host.stop();
    const third = await startHost(stateDir, entries);
    const c3 = third.ready.children as ChildMap;
    expect(c3['stub']?.state).toBe('STOPPED');
    expect(c3['plain']?.state).toBe('STOPPED');
    expect(['RUNNING', 'STARTING']).toContain(c3['sus']?.state);
  });

  it('lists a disowned child as an orphan after a restart and does not adopt it', async () => {
    const stateDir = newStateDir();
    const first = await startHost(stateDir);
    const created = await first.host.request('create', { id: 'loose', cmd: childCmd(), restart: { minUptimeMs: 0 } });
    const pid = (created.children as ChildMap)['loose']?.pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    await first.host.request('remove', { ids: 'loose', running: 'disown' });
    await first.host.kill9();
    const second = await startHost(stateDir);
    const report = second.ready.report as { orphans: { pid: number; childId: string }[] };
    expect(report.orphans).toEqual([expect.objectContaining({ pid, childId: 'loose' })]);
    expect(second.ready.children).toEqual({});
    expect(isAlive(pid)).toBe(true);
  });

  it('does not adopt a reused pid (start time differs) and never signals it', async () => {
    const stateDir = newStateDir();
    const other = spawn(process.execPath, [childCmd()[1] ?? ''], { detached: true, stdio: 'ignore' });
    const otherPid = other.pid ?? 0;
    cleanups.push(() => killPids([otherPid]));
    await waitFor(() => isAlive(otherPid), { timeoutMs: 3000 });
    const proc = new ProcIdentity();
    const realTicks = proc.readStat(otherPid)?.startTicks ?? 0;

    const now = Date.now();
    const spec = ChildSpecSchema.parse({ id: 'r', source: 'create', cmd: childCmd(), restart: { minUptimeMs: 0, backoffInitialMs: 0 } });
    const rec = newChildRecord(spec, now, 'operator');
    rec.desired.target = 'up';
    Object.assign(rec.current, { state: 'RUNNING', pid: otherPid, pgid: otherPid, startTicks: realTicks - 1, bootId: proc.bootId(), startedAtMs: now - 1000 });
    new StateStore(join(stateDir, 'sup-00.json')).save({
      schema: 1,
      supervisor: { supervisorId: 'sup-00', instanceIndex: 0, pid: 999_999, startTicks: null, bootId: proc.bootId(), seq: 1, writtenAtMs: now },
      children: { r: rec },
    });

    const sup = new Supervisor({ stateDir, allowExec: true, pollIntervalMs: 100 });
    cleanups.push(async () => {
      await sup.die({ mode: 'stop', timeoutMs: 3000 });
    });
    const report = await sup.init();
    expect(report.vanished).toEqual(['r']);
    const after = sup.get('r');
    expect(after?.current.lastExit).toMatchObject({ isKnown: false, classification: 'vanished' });
    expect(after?.current.pid).not.toBe(otherPid);
    expect(after?.current.state).toBe('RUNNING');
    sup.stop('r');
    await sup.waitFor('r', (x) => x?.current.state === 'STOPPED', 5000);
    expect(isAlive(otherPid)).toBe(true);
    expect(procState(otherPid)).not.toBe('T');
  });

  it('refuses a second supervisor on the same index, allows another index, and takes over a stale lock', async () => {
    const stateDir = newStateDir();
    const { host } = await startHost(stateDir);
    const same = new Supervisor({ stateDir, instanceIndex: 0 });
    const err = await same.init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`pid ${host.pid}`);

    const other = new Supervisor({ stateDir, instanceIndex: 7 });
    cleanups.push(async () => {
      await other.die();
    });
    await expect(other.init()).resolves.toMatchObject({ lockTakenOver: false });

    // A lock left by a dead process is taken over.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(join(stateDir, 'sup-03.lock'), JSON.stringify({ pid: dead.pid, startTicks: 1, bootId: new ProcIdentity().bootId(), acquiredAtMs: 0 }));
    const third = new Supervisor({ stateDir, instanceIndex: 3 });
    cleanups.push(async () => {
      await third.die();
    });
    await expect(third.init()).resolves.toMatchObject({ lockTakenOver: true });
  });

  it('moves a corrupt state file aside and starts empty instead of crashing', async () => {
    const stateDir = newStateDir();
    writeFileSync(join(stateDir, 'sup-00.json'), '{"schema": 1, "supervisor": {tr');
    const sup = new Supervisor({ stateDir });
    cleanups.push(async () => {
      await sup.die();
    });
    const report = await sup.init();
    expect(report.stateSource).toBe('none');
    expect(report.problems.join(' ')).toMatch(/corrupt state file/);
    expect(readdirSync(stateDir).some((f) => f.startsWith('sup-00.json.corrupt-'))).toBe(true);
    expect(sup.status().supervisor.problems.length).toBeGreaterThan(0);
  });
});
