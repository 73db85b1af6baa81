import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { ProcIdentity } from '../../lib/supervisor/proc-identity.js';
import { projectRoot } from '../helpers/project-root.js';
import { readCpuSeconds, readRssMb } from './lib/proc-stats.js';
import { currentLoad, newReport, type BenchOptions, type BenchReport, type BenchResult } from './lib/report.js';
import { spawnRouterProcess, type RouterProcess } from '../helpers/router-process.js';
import { LatencyRecorder } from './lib/stats.js';

/**
 * The HostManager (`ocs agent`, class HostManager, with --allow-exec) in its own process on a
 * router process, driven over WAMP with OcsClient. Three measurements:
 *
 * 1. crash → replacement: one child `sh -c 'echo $$ >> F; exec sleep …'` with no backoff
 *    (backoff 0, no budget, min uptime 0). Each round SIGKILLs the current child and times until
 *    the replacement has written its pid to F (so the new process is running, not just
 *    spawned). 200 rounds (50 with --quick). Target: p50 ≤ 20 ms.
 * 2. idle CPU: 200 children (`sleep`) RUNNING; the HostManager's CPU (utime+stime from /proc)
 *    over a 30 s window (10 s with --quick), as a share of one core. Target: < 2 %.
 *    With resource sampling at 1 Hz (the default); one sampling pass over the 200 children's
 *    process groups is also timed in this process.
 * 3. re-adoption: the HostManager is SIGKILLed with the 200 children running and started again;
 *    reported: its own reconciliation time (`reconcile_ms` of its "supervisor reconciled" log
 *    line: lock, state file, /proc checks of 200 pids and the orphan scan), the time from its
 *    spawn to that line (node start-up included), and to the first `manager` status over WAMP
 *    that shows all 200 RUNNING and adopted with their old pids.
 * 4. idle CPU again, the HostManager restarted with `--resource-interval 0` (sampling off): the
 *    difference from 2 is what sampling 200 children at 1 Hz costs.
 *
 * Every process started here carries the temp state dir in its environment (the supervisor's
 * marker) and is SIGKILLed by that marker at the end, whatever happened.
 */
export const name = 'supervisor';

const ROOT = 'bench';
const HM_ID = 'hm-bench';
const CHILDREN = 200;
const CRASH_TARGET_P50_MS = 20;
const CPU_TARGET_PCT = 2;
const STEP_TIMEOUT_MS = 10_000;
const READOPT_TIMEOUT_MS = 60_000;
const SLEEP_BIN = existsSync('/usr/bin/sleep') ? '/usr/bin/sleep' : '/bin/sleep';

interface HostManagerProcess {
  child: ChildProcess;
  pid: number;
  spawnedAtMs: number;
  /** performance.now() at the 'supervisor reconciled' line, and the line. */
  reconciled: Promise<{ atMs: number; record: Record<string, unknown> }>;
  joined: Promise<void>;
  exited: Promise<void>;
}

function startHostManager(siteFile: string): HostManagerProcess {
  const entry = join(projectRoot(), 'dist', 'bin', 'ocs.js');
  const spawnedAtMs = performance.now();
  const child = spawn(process.execPath, [entry, 'agent', '--site-file', siteFile, '--site-host', 'localhost', '--instance-id', HM_ID], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitLine = (msg: string) =>
    new Promise<{ atMs: number; record: Record<string, unknown> }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`HostManager: no "${msg}" within ${READOPT_TIMEOUT_MS} ms; stderr: ${stderr}`)), READOPT_TIMEOUT_MS);
      lines.on('line', (line) => {
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (record['msg'] === msg) {
          clearTimeout(timer);
          resolve({ atMs: performance.now(), record });
        }
      });
      void exited.then(() => reject(new Error(`HostManager exited before "${msg}"; stderr: ${stderr}`)));
    });
  const reconciled = waitLine('supervisor reconciled');
  const joined = waitLine('joined and registered').then(() => undefined);
  reconciled.catch(() => undefined);
  joined.catch(() => undefined);
  return { child, pid: child.pid!, spawnedAtMs, reconciled, joined, exited };
}

/** Pids whose environment holds `needle` (the temp state dir: only processes started here). */
function pidsWithMarker(needle: string): number[] {
  if (!needle.includes('ocs-sup-bench-')) throw new Error(`refusing to scan for processes by '${needle}'`);
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(needle)) out.push(Number(entry));
    } catch {
      // gone, or another user's
    }
  }
  return out;
}

function killByMarker(needle: string): void {
  for (const pid of pidsWithMarker(needle)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function linesOf(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = STEP_TIMEOUT_MS, intervalMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

interface ChildView {
  instance_id: string;
  state: string;
}

interface ManagerData {
  child_states: ChildView[];
  services: Record<string, { pid: number | null; adopted: boolean }>;
}

async function managerData(client: OcsClient): Promise<ManagerData> {
  const reply = await client.op('manager').status();
  if (!('data' in reply.session)) throw new Error(`manager has no session: ${reply.message}`);
  return reply.session.data as unknown as ManagerData;
}

async function task(client: OcsClient, op: string, params: Record<string, unknown>): Promise<void> {
  const handle = client.op(op);
  if (handle.opType !== 'task') throw new Error(`${op} is not a task`);
  const reply = await handle.call(params, { timeoutS: 30 });
  if (!('success' in reply.session) || reply.session.success !== true) throw new Error(`${op} failed: ${JSON.stringify(reply.session).slice(0, 500)}`);
}

function result(benchmark: string, fields: Partial<BenchResult> & Pick<BenchResult, 'throughput' | 'throughputUnit' | 'latencyMs' | 'extra'>, loadAvg1m: number): BenchResult {
  return { benchmark, client: 'ocs-client (wamp)', durationS: 0, routerCpuPct: NaN, clientCpuPct: NaN, routerRssMb: NaN, loadAvg1m, ...fields };
}

/** The HostManager's CPU (utime + stime from /proc) over a window of idle children, as a share of one core. */
async function idleCpu(benchmark: string, hmPid: number, routerPid: number, windowS: number): Promise<BenchResult> {
  const load = currentLoad();
  const cpu0 = readCpuSeconds(hmPid);
  const routerCpu0 = readCpuSeconds(routerPid);
  const t0 = performance.now();
  await sleep(windowS * 1000);
  const elapsedS = (performance.now() - t0) / 1000;
  const hmCpuPct = ((readCpuSeconds(hmPid) - cpu0) / elapsedS) * 100;
  return result(
    benchmark,
    {
      durationS: elapsedS,
      throughput: CHILDREN,
      throughputUnit: 'children',
      latencyMs: { p50: NaN, p99: NaN, max: NaN },
      routerCpuPct: ((readCpuSeconds(routerPid) - routerCpu0) / elapsedS) * 100,
      extra: { hmCpuPct: Math.round(hmCpuPct * 100) / 100, hmRssMb: Math.round(readRssMb(hmPid)), targetCpuPct: CPU_TARGET_PCT, meetsTarget: hmCpuPct < CPU_TARGET_PCT },
    },
    load,
  );
}

/**
 * One resource sampling pass as the HostManager makes it every second (lib/supervisor
 * ProcIdentity.usageByGroup over the 200 children's process groups: one pass over /proc), timed
 * here 200 times; its CPU share at 1 Hz is the pass time per second.
 */
async function samplingPass(client: OcsClient): Promise<BenchResult> {
  const data = await managerData(client);
  const groups = new Set(Object.values(data.services).map((s) => s.pid).filter((p): p is number => p !== null));
  const proc = new ProcIdentity();
  const latency = new LatencyRecorder();
  const load = currentLoad();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const passes = 200;
  let found = 0;
  for (let i = 0; i < passes; i++) {
    const t = performance.now();
    found = proc.usageByGroup(groups).size;
    latency.add(performance.now() - t);
  }
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const summary = latency.summary();
  return result(
    `resource sampling pass, ${groups.size} children (one /proc scan)`,
    {
      durationS: elapsedS,
      throughput: passes / elapsedS,
      throughputUnit: 'passes/s',
      latencyMs: summary,
      extra: { groups: groups.size, groupsFound: found, processesOnHost: proc.pids().length, cpuMsPerPass: Math.round(((cpu.user + cpu.system) / 1000 / passes) * 100) / 100, cpuPctAt1Hz: Math.round((summary.p50 / 1000) * 100 * 100) / 100 },
    },
    load,
  );
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  const crashes = options.quick ? 50 : 200;
  const idleWindowS = options.quick ? 10 : 30;
  const stateDir = mkdtempSync(join(tmpdir(), 'ocs-sup-bench-'));
  let router: RouterProcess | undefined;
  let hm: HostManagerProcess | undefined;
  let client: OcsClient | undefined;
  try {
    router = await spawnRouterProcess();
    const siteFile = join(stateDir, 'site.yaml');
    const url = router.url;
    const writeSite = (extra: (string | number)[] = []) =>
      writeFileSync(
        siteFile,
        stringify({
          hub: { wamp_server: url, wamp_http: url.replace(/^ws/, 'http').replace(/\/ws$/, '/call'), wamp_realm: 'test_realm', address_root: ROOT },
          hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'HostManager', 'instance-id': HM_ID, manage: 'ignore', arguments: ['--state-dir', stateDir, '--allow-exec', ...extra] }] } },
        }),
      );
    writeSite();
    hm = startHostManager(siteFile);
    await hm.joined;
    client = await OcsClient.connect(HM_ID, { url: router.url, realm: 'test_realm', addressRoot: ROOT, transport: 'wamp' });

    // 1. crash → replacement running
    try {
      const pidFile = join(stateDir, 'crasher.pids');
      await task(client, 'create', {
        id: 'crasher',
        cmd: ['/bin/sh', '-c', `echo $$ >> ${pidFile}; exec ${SLEEP_BIN} 100000`],
        restart: { mode: 'always', backoff_initial_s: 0, max_restarts: null, min_uptime_s: 0 },
      });
      await until(() => linesOf(pidFile).length === 1, 'the first crasher run');
      const latency = new LatencyRecorder();
      const load = currentLoad();
      const startedAtMs = performance.now();
      for (let i = 0; i < crashes; i++) {
        const before = linesOf(pidFile);
        const pid = Number(before[before.length - 1]);
        const t0 = performance.now();
        process.kill(pid, 'SIGKILL');
        await until(() => linesOf(pidFile).length > before.length, `replacement ${i + 1}`, STEP_TIMEOUT_MS, 1);
        latency.add(performance.now() - t0);
        await sleep(10);
      }
      const elapsedS = (performance.now() - startedAtMs) / 1000;
      const summary = latency.summary();
      report.results.push(
        result(
          'crash → replacement running (no backoff)',
          {
            durationS: elapsedS,
            throughput: crashes / elapsedS,
            throughputUnit: 'crashes/s',
            latencyMs: summary,
            extra: { crashes, targetP50Ms: CRASH_TARGET_P50_MS, meetsTarget: summary.p50 <= CRASH_TARGET_P50_MS },
          },
          load,
        ),
      );
      await task(client, 'remove', { ids: 'crasher', running: 'kill' });
    } catch (err) {
      report.failures.push({ benchmark: 'crash → replacement running (no backoff)', client: 'ocs-client (wamp)', error: err instanceof Error ? err.message : String(err) });
    }

    // 2. idle CPU with 200 children
    const ids = Array.from({ length: CHILDREN }, (_, i) => `idle-${String(i).padStart(3, '0')}`);
    try {
      for (const id of ids) await task(client, 'create', { id, cmd: [SLEEP_BIN, '100000'], restart: { min_uptime_s: 0 } });
      await until(async () => (await managerData(client!)).child_states.filter((c) => c.state === 'RUNNING').length === CHILDREN, `${CHILDREN} children running`, 60_000, 200);
      await sleep(2000);
      report.results.push(await idleCpu(`HostManager CPU, ${CHILDREN} idle children (resource sampling at 1 Hz)`, hm.pid, router.pid, idleWindowS));
      report.results.push(await samplingPass(client));
    } catch (err) {
      report.failures.push({ benchmark: `HostManager CPU, ${CHILDREN} idle children`, client: 'ocs-client (wamp)', error: err instanceof Error ? err.message : String(err) });
    }

    // 3. re-adoption of 200 children after a SIGKILL of the HostManager
    try {
      const before = await managerData(client);
      const pids = new Map(ids.map((id) => [id, before.services[id]?.pid ?? null]));
      await client.close();
      client = undefined;
      hm.child.kill('SIGKILL');
      await hm.exited;
      const load = currentLoad();
      hm = startHostManager(siteFile);
      const reconciled = await hm.reconciled;
      await hm.joined;
      client = await OcsClient.connect(HM_ID, { url: router.url, realm: 'test_realm', addressRoot: ROOT, transport: 'wamp' });
      const seenAtMs = await until(
        async () => {
          const d = await managerData(client!);
          const ok = ids.every((id) => d.services[id]?.adopted === true && d.services[id]?.pid === pids.get(id)) && d.child_states.filter((c) => c.state === 'RUNNING').length === CHILDREN;
          return ok ? performance.now() : undefined;
        },
        `${CHILDREN} children re-adopted`,
        READOPT_TIMEOUT_MS,
        20,
      );
      const adopted = Number(reconciled.record['adopted']);
      const reconcileMs = Number(reconciled.record['reconcile_ms']);
      report.results.push(
        result(
          `re-adopt ${CHILDREN} children after SIGKILL`,
          {
            durationS: (seenAtMs - hm.spawnedAtMs) / 1000,
            throughput: adopted,
            throughputUnit: 'adopted',
            latencyMs: { p50: reconcileMs, p99: reconcileMs, max: reconcileMs },
            extra: {
              reconcileMs,
              spawnToReconciledMs: Math.round(reconciled.atMs - hm.spawnedAtMs),
              spawnToAllRunningOverWampMs: Math.round(seenAtMs - hm.spawnedAtMs),
              started: Number(reconciled.record['started']),
              vanished: Number(reconciled.record['vanished']),
            },
          },
          load,
        ),
      );
    } catch (err) {
      report.failures.push({ benchmark: `re-adopt ${CHILDREN} children after SIGKILL`, client: 'ocs-client (wamp)', error: err instanceof Error ? err.message : String(err) });
    }

    // 4. the same idle children with resource sampling off: the difference is sampling's cost
    const offTitle = `HostManager CPU, ${CHILDREN} idle children (resource sampling off)`;
    try {
      await client?.close();
      client = undefined;
      hm.child.kill('SIGKILL');
      await hm.exited;
      writeSite(['--resource-interval', 0]);
      hm = startHostManager(siteFile);
      await hm.joined;
      client = await OcsClient.connect(HM_ID, { url: router.url, realm: 'test_realm', addressRoot: ROOT, transport: 'wamp' });
      await until(async () => (await managerData(client!)).child_states.filter((c) => c.state === 'RUNNING').length === CHILDREN, `${CHILDREN} children running`, READOPT_TIMEOUT_MS, 200);
      await sleep(2000);
      report.results.push(await idleCpu(offTitle, hm.pid, router.pid, idleWindowS));
    } catch (err) {
      report.failures.push({ benchmark: offTitle, client: 'ocs-client (wamp)', error: err instanceof Error ? err.message : String(err) });
    }
  } finally {
    await client?.close().catch(() => undefined);
    if (hm !== undefined && hm.child.exitCode === null && hm.child.signalCode === null) {
      hm.child.kill('SIGKILL');
      await hm.exited;
    }
    killByMarker(stateDir);
    await router?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
  return report;
}
