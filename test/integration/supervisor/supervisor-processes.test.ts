import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tailFile } from '../../../lib/supervisor/log-files.js';
import { Supervisor, type SupervisorOptions } from '../../../lib/supervisor/supervisor.js';
import { waitFor } from '../../helpers/wait.js';
import { assertBuilt, childCmd, isAlive, killEverything, killPids, makeStateDir, procState, removeDir } from './process-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => assertBuilt());

async function makeSupervisor(options: Partial<SupervisorOptions> = {}): Promise<Supervisor> {
  const stateDir = options.stateDir ?? makeStateDir();
  const sup = new Supervisor({ allowExec: true, pollIntervalMs: 100, ...options, stateDir });
  cleanups.push(() => removeDir(stateDir));
  cleanups.push(() => killEverything(stateDir));
  cleanups.push(async () => {
    await sup.die({ mode: 'stop', timeoutMs: 3000 });
  });
  await sup.init();
  return sup;
}

const state = (sup: Supervisor, id: string) => sup.get(id)?.current.state;

describe('supervisor with real processes', () => {
  it('refuses create when exec is not enabled', async () => {
    const sup = await makeSupervisor({ allowExec: false });
    const r = sup.create({ id: 'x', cmd: childCmd() });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/disabled/);
    expect(sup.ids()).toEqual([]);
  });

  it('runs a crash loop through the backoff sequence into CRASHED', async () => {
    const sup = await makeSupervisor();
    sup.create({
      id: 'loop',
      cmd: childCmd('--exit-code', 3, '--after-ms', 0, '--stderr', 'boom'),
      restart: { minUptimeMs: 2000, backoffInitialMs: 50, backoffFactor: 2, backoffJitter: 0, maxRestarts: 3, windowMs: 60_000 },
    });
    const exits: string[][] = [];
    sup.on('child.exited', (e) => exits.push(e.stderrTail));
    await sup.waitFor('loop', (r) => r?.current.state === 'CRASHED', 20_000);
    const backoffs = sup
      .history()
      .filter((h) => h.kind === 'transition' && h.id === 'loop' && h.to === 'BACKOFF')
      .map((h) => /in (\d+) ms/.exec(h.cause ?? '')?.[1]);
    expect(backoffs).toEqual(['50', '100', '200']);
    const rec = sup.get('loop');
    expect(rec?.current.attempt).toBe(4);
    expect(rec?.current.lastExit?.code).toBe(3);
    expect(rec?.current.pid).toBeNull();
    expect(exits.at(-1)).toContain('boom');
    expect(sup.logs({ id: 'loop', stream: 'stderr' }).stderr).toContain('boom');
    expect(sup.childStates()[0]).toMatchObject({ instance_id: 'loop', next_action: 'down', target_state: 'up', state: 'CRASHED' });
  });

  it('classifies a segfault as a failure with its signal', async () => {
    const sup = await makeSupervisor();
    sup.create({ id: 'seg', cmd: childCmd('--segfault-after-ms', 50), restart: { mode: 'on-failure', maxRestarts: 0, minUptimeMs: 0 } });
    const rec = await sup.waitFor('seg', (r) => r?.current.state === 'CRASHED', 10_000);
    expect(rec?.current.lastExit).toMatchObject({ signal: 'SIGSEGV', code: null, classification: 'failure' });
  });

  it('replaces a crashed child at once when the backoff is 0', async () => {
    const sup = await makeSupervisor();
    sup.create({ id: 'fast', cmd: childCmd(), restart: { backoffInitialMs: 0, minUptimeMs: 0 } });
    const first = await sup.waitFor('fast', (r) => r?.current.state === 'RUNNING', 5000);
    const pid1 = first?.current.pid ?? 0;
    process.kill(pid1, 'SIGKILL');
    const second = await sup.waitFor('fast', (r) => r?.current.state === 'RUNNING' && r.current.pid !== pid1, 5000);
    expect(second?.current.restarts).toBe(1);
    expect(second?.current.lastExit?.signal).toBe('SIGKILL');
  });

  it('suspends and resumes with SIGSTOP/SIGCONT', async () => {
    const sup = await makeSupervisor();
    sup.create({ id: 's', cmd: childCmd(), restart: { minUptimeMs: 0 } });
    const rec = await sup.waitFor('s', (r) => r?.current.state === 'RUNNING', 5000);
    const pid = rec?.current.pid ?? 0;
    expect(sup.suspend('s').ok).toBe(true);
    await waitFor(() => procState(pid) === 'T', { timeoutMs: 3000, what: 'process stopped' });
    expect(state(sup, 's')).toBe('SUSPENDED');
    expect(sup.resume('s').ok).toBe(true);
    await waitFor(() => procState(pid) !== 'T', { timeoutMs: 3000, what: 'process continued' });
    expect(state(sup, 's')).toBe('RUNNING');
    // An external SIGSTOP is observed by the poll.
    process.kill(pid, 'SIGSTOP');
    const ext = await sup.waitFor('s', (r) => r?.current.state === 'SUSPENDED', 10_000);
    expect(ext?.current.isExternal).toBe(true);
    process.kill(pid, 'SIGCONT');
    await sup.waitFor('s', (r) => r?.current.state === 'RUNNING', 10_000);
  });

  it('stops a suspended child (stop signal then SIGCONT)', async () => {
    const sup = await makeSupervisor();
    const startFile = join(sup.stateDir, 'started');
    sup.create({ id: 's', cmd: childCmd('--graceful', '--start-file', startFile), restart: { minUptimeMs: 0 } });
    await sup.waitFor('s', (r) => r?.current.state === 'RUNNING', 5000);
    await waitFor(() => existsSync(startFile), { timeoutMs: 5000, what: 'child set up' });
    sup.suspend('s');
    sup.stop('s');
    const rec = await sup.waitFor('s', (r) => r?.current.state === 'STOPPED', 5000);
    expect(rec?.current.lastExit?.code).toBe(0);
  });

  it('escalates to SIGKILL for a child that ignores SIGINT, and the group kill reaches the grandchild', async () => {
    const sup = await makeSupervisor();
    const gcFile = join(sup.stateDir, 'grandchild.pid');
    sup.create({ id: 'stubborn', cmd: childCmd('--ignore-sigint', '--fork-grandchild', gcFile), stopTimeoutMs: 300, restart: { minUptimeMs: 0 } });
    await sup.waitFor('stubborn', (r) => r?.current.state === 'RUNNING', 5000);
    await waitFor(() => existsSync(gcFile) && readFileSync(gcFile, 'utf8').length > 0, { timeoutMs: 5000, what: 'grandchild pid' });
    const gcPid = Number(readFileSync(gcFile, 'utf8'));
    expect(isAlive(gcPid)).toBe(true);
    sup.stop('stubborn');
    const rec = await sup.waitFor('stubborn', (r) => r?.current.state === 'STOPPED', 5000);
    expect(rec?.current.lastExit?.signal).toBe('SIGKILL');
    await waitFor(() => !isAlive(gcPid), { timeoutMs: 3000, what: 'grandchild gone' });
  });

  it('kills into KILLED and stays down until start', async () => {
    const sup = await makeSupervisor();
    sup.create({ id: 'k', cmd: childCmd(), restart: { minUptimeMs: 0 } });
    await sup.waitFor('k', (r) => r?.current.state === 'RUNNING', 5000);
    sup.kill('k');
    await sup.waitFor('k', (r) => r?.current.state === 'KILLED', 5000);
    expect(sup.start('k').ok).toBe(true);
    await sup.waitFor('k', (r) => r?.current.state === 'RUNNING', 5000);
  });

  it('adopts a pid, detects its death by polling (exit unknown), and refuses zombies', async () => {
    const sup = await makeSupervisor();
    const other = spawn(process.execPath, [childCmd()[1] ?? ''], { detached: true, stdio: 'ignore' });
    const pid = other.pid ?? 0;
    cleanups.push(() => killPids([pid]));
    await waitFor(() => isAlive(pid), { timeoutMs: 3000 });
    const r = sup.open({ pid, expectCmdline: 'child.js' });
    expect(r.ok).toBe(true);
    expect(state(sup, `pid-${pid}`)).toBe('RUNNING');
    expect(sup.start(`pid-${pid}`).ok).toBe(false);
    process.kill(pid, 'SIGKILL');
    const rec = await sup.waitFor(`pid-${pid}`, (x) => x?.current.state === 'EXITED', 5000);
    expect(rec?.current.lastExit?.isKnown).toBe(false);
    expect(sup.status().services[`pid-${pid}`]?.last_exit?.exit).toBe('unknown');

    // A zombie: the background sleep's parent execs into something that never reaps it.
    const sh = spawn('/bin/sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    cleanups.push(() => killPids([sh.pid ?? 0]));
    const zombiePid = await new Promise<number>((res) => sh.stdout?.once('data', (d: Buffer) => res(Number(String(d).trim()))));
    await waitFor(() => procState(zombiePid) === 'Z', { timeoutMs: 3000, what: 'zombie' });
    const z = sup.open({ pid: zombiePid });
    expect(z.ok).toBe(false);
    expect(z.message).toMatch(/zombie/);
  });

  it('removes with disown and leaves the process running', async () => {
    const sup = await makeSupervisor();
    sup.create({ id: 'd', cmd: childCmd(), restart: { minUptimeMs: 0 } });
    const rec = await sup.waitFor('d', (r) => r?.current.state === 'RUNNING', 5000);
    const pid = rec?.current.pid ?? 0;
    const r = sup.remove({ ids: 'd', running: 'disown' });
    expect(r.ok).toBe(true);
    expect(sup.get('d')).toBeNull();
    await new Promise((res) => setTimeout(res, 300));
    expect(isAlive(pid)).toBe(true);
    // remove with stop ends the process and forgets the child.
    sup.create({ id: 'e', cmd: childCmd(), restart: { minUptimeMs: 0 } });
    const e = await sup.waitFor('e', (x) => x?.current.state === 'RUNNING', 5000);
    sup.remove({ ids: 'e' });
    await sup.waitFor('e', (x) => x === null, 5000);
    await waitFor(() => !isAlive(e?.current.pid ?? 0), { timeoutMs: 3000 });
  });

  it('runs a cron schedule on its slots, not at creation', async () => {
    const sup = await makeSupervisor();
    const startFile = join(sup.stateDir, 'starts.txt');
    sup.create({
      id: 'cron',
      cmd: childCmd('--start-file', startFile, '--exit-code', 0, '--after-ms', 50),
      restart: { mode: 'on-failure', minUptimeMs: 0 },
      schedule: { cron: '* * * * * *' },
    });
    expect(state(sup, 'cron')).toBe('PENDING');
    expect(existsSync(startFile)).toBe(false);
    await waitFor(() => existsSync(startFile) && readFileSync(startFile, 'utf8').trim().split('\n').length >= 2, { timeoutMs: 20_000, what: 'two cron runs' });
    expect(sup.get('cron')?.current.scheduleNextMs).not.toBeNull();
  });

  it('rotates a flooded log file while the child runs and keeps tails working', async () => {
    const sup = await makeSupervisor({ logRotateCheckMs: 100 });
    sup.create({ id: 'flood', cmd: childCmd('--flood-bytes', 400_000), log: { maxBytes: 50_000, keep: 2 }, restart: { minUptimeMs: 0 } });
    const out = join(sup.logDir, 'flood.out.log');
    await waitFor(() => existsSync(`${out}.1`), { timeoutMs: 8000, what: 'rotated log' });
    expect(statSync(`${out}.1`).size).toBeGreaterThan(100_000);
    await waitFor(() => statSync(out).size < 400_000, { timeoutMs: 5000 });
    expect(tailFile(`${out}.1`, 3)).toHaveLength(3);
    expect(sup.logs({ id: 'flood', stream: 'stdout', lines: 3 }).ok).toBe(true);
  });

  it('marks a spawn error as one failure (ENOENT)', async () => {
    const sup = await makeSupervisor();
    sup.create({ id: 'missing', cmd: ['/nonexistent/binary'], restart: { maxRestarts: 0 } });
    const rec = await sup.waitFor('missing', (r) => r?.current.state === 'CRASHED', 5000);
    expect(rec?.current.lastExit?.classification).toBe('spawn_error');
    expect(rec?.current.failTimesMs.length).toBe(1);
  });

  it('stops every child on die(stop) and keeps the desired state on disk', async () => {
    const stateDir = makeStateDir();
    const sup = await makeSupervisor({ stateDir });
    sup.create({ id: 'a', cmd: childCmd('--graceful'), restart: { minUptimeMs: 0 } });
    const rec = await sup.waitFor('a', (r) => r?.current.state === 'RUNNING', 5000);
    const res = await sup.die({ mode: 'stop' });
    expect(res.ok).toBe(true);
    expect(isAlive(rec?.current.pid ?? 0)).toBe(false);
    const saved = JSON.parse(readFileSync(join(stateDir, 'sup-00.json'), 'utf8')) as { children: Record<string, { desired: { target: string } }> };
    expect(saved.children['a']?.desired.target).toBe('up');
  });
});
