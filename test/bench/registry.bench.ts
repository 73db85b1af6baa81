import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { projectRoot } from '../helpers/project-root.js';
import { frameHead, RawWampClient, stampIn, WAMP, type WampMessage } from './lib/raw-wamp-client.js';
import { readRssMb, UsageWindow, type UsageSummary } from './lib/proc-stats.js';
import { currentLoad, newReport, type BenchOptions, type BenchReport } from './lib/report.js';
import { spawnRouterProcess, type RouterProcess } from '../helpers/router-process.js';
import { Generator, REALM, ROOT, SESSIONS_PER_GENERATOR, killAllChildren, stopChild, track } from './lib/heartbeat-load.js';
import { LatencyRecorder } from './lib/stats.js';

/**
 * Registry at scale. Per case: a router process (`ocs router`), a RegistryAgent process (`ocs agent`
 * with a site file) and load-generator processes (this file, forked) holding N raw WAMP sessions,
 * each an agent beating once a second with five op codes in OCS's exact heartbeat shape, spread
 * evenly over the second. After every agent has appeared on the registry's `agent_status` feed and
 * a warm-up, a measurement window (60 s; 15 s with --quick) samples router, registry and
 * generator CPU and RSS from /proc, while 100 agents picked at random are killed at random times
 * (their sockets closed abruptly). Reported:
 *   - detection latency: the `agent.expired` event's time minus the killed agent's last heartbeat
 *     send time (the target is p99 within 5.2 s of the 5 s timeout);
 *   - false expiries: any other `agent.expired` (must be 0), counted from the start;
 *   - the time `main` status (the whole table as session.data) takes at N;
 *   - the rebuild: the registry is restarted and the time from its join until every live agent
 *     has appeared again is measured.
 * Loopback only; every process is stopped at the end of its case, each case is time-bounded.
 *
 * One process may hold at most 20,000 descriptors here (RLIMIT_NOFILE, hard limit), and the
 * router needs one per session plus a few: the largest case is therefore 19,900 agents, and
 * generators hold at most 10,000 sessions each.
 */
export const name = 'registry';

const REGISTRY = `${ROOT}.registry`;
const KILLS = 100;
const DETECTION_TARGET_MS = 5200;
const READY_TIMEOUT_MS = 30_000;

interface Plan {
  agents: number[];
  warmupS: number;
  measureS: number;
  /** Kills happen in [killFromS, measureS - killMarginS] of the window. */
  killFromS: number;
  killMarginS: number;
  caseDeadlineS: number;
}

const FULL: Plan = { agents: [1_000, 5_000, 10_000, 19_900], warmupS: 5, measureS: 60, killFromS: 2, killMarginS: 8, caseDeadlineS: 300 };
const QUICK: Plan = { agents: [1_000, 5_000], warmupS: 3, measureS: 15, killFromS: 2, killMarginS: 8, caseDeadlineS: 150 };

/** A registry process. */
interface RegistryProcess {
  pid: number;
  /** The time of its 'registry tracking heartbeats' line (its clock): arguments parsed, about to connect. */
  readyAtMs: number;
  /** The last lines of its output. */
  tail(): string;
  stop(): Promise<void>;
}

function writeSite(dir: string, router: RouterProcess): string {
  const file = join(dir, 'site.yaml');
  const httpUrl = router.url.replace(/^ws/, 'http').replace(/\/ws$/, '/call');
  const registry = { 'agent-class': 'RegistryAgent', 'instance-id': 'registry', arguments: ['--wait-time', 30] };
  writeFileSync(file, stringify({ hub: { wamp_server: router.url, wamp_http: httpUrl, wamp_realm: REALM, address_root: ROOT }, hosts: { localhost: { 'agent-instances': [registry] } } }));
  return file;
}

/** Starts `ocs agent --instance-id registry` (at log level info, as deployed) and resolves once its `main` answers. */
async function startRegistry(siteFile: string, probe: RawWampClient): Promise<RegistryProcess> {
  // e.g. OCS_BENCH_REGISTRY_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the registry
  const nodeFlags = (process.env['OCS_BENCH_REGISTRY_NODE_FLAGS'] ?? '').split(/\s+/).filter((f) => f.length > 0);
  const child = spawn(process.execPath, [...nodeFlags, join(projectRoot(), 'dist', 'bin', 'ocs.js'), 'agent', '--site-file', siteFile, '--instance-id', 'registry'], {
    env: { ...process.env, LOGLEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = track(child);
  let tail = '';
  const registry: RegistryProcess = {
    pid: child.pid!,
    readyAtMs: NaN,
    tail: () => tail,
    stop: () => stopChild(child, exited),
  };
  // OCS_BENCH_REGISTRY_LOG=FILE keeps the registry's whole output (e.g. with --trace-gc in the flags)
  const logFile = process.env['OCS_BENCH_REGISTRY_LOG'];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (logFile !== undefined) appendFileSync(logFile, line + '\n');
    if (line.includes('"msg":"registry tracking heartbeats"')) registry.readyAtMs = Number(/"time":(\d+)/.exec(line)?.[1]);
    tail = (tail + line + '\n').slice(-4000);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  });
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`registry exited with ${child.exitCode}: ${tail}`);
    try {
      const reply = (await probe.call(`${REGISTRY}.ops`, ['status', 'main']))[0] as [number, string, { status?: string }];
      if (reply[0] === 0 && reply[2].status === 'running') return registry;
    } catch {
      // not registered yet
    }
    if (performance.now() > deadline) {
      await registry.stop();
      throw new Error(`registry not ready within ${READY_TIMEOUT_MS} ms: ${tail}`);
    }
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// The registry's agent_status feed, as the benchmark sees it

interface StatusEvent {
  event: string;
  agent_address: string;
  time: number;
  record?: { op_codes?: Record<string, number>; last_updated?: number };
}

class StatusFollower {
  readonly appeared = new Set<string>();
  /** The latest `agent.appeared` event time (the registry's clock, ms). */
  lastAppearedMs = NaN;
  /** address → [event time ms, arrival ms] of each expiry. */
  /** Each expiry: event time, arrival here, the registry's time of the agent's last heartbeat (all ms). */
  readonly expiries: Array<{ address: string; timeMs: number; arrivalMs: number; lastHeardMs: number; isAllSeven: boolean }> = [];

  constructor(readonly client: RawWampClient) {
    client.onMessage = (msg: WampMessage) => {
      if (msg[0] !== WAMP.EVENT) return;
      const pair = (msg[4] as unknown[] | undefined)?.[0];
      const event = (Array.isArray(pair) ? pair[0] : undefined) as StatusEvent | undefined;
      if (event === undefined) return;
      if (event.event === 'agent.appeared') {
        this.appeared.add(event.agent_address);
        if (!(event.time * 1000 <= this.lastAppearedMs)) this.lastAppearedMs = event.time * 1000;
      } else if (event.event === 'agent.expired') {
        const codes = Object.values(event.record?.op_codes ?? {});
        this.expiries.push({
          address: event.agent_address,
          timeMs: event.time * 1000,
          arrivalMs: Date.now(),
          lastHeardMs: (event.record?.last_updated ?? NaN) * 1000,
          isAllSeven: codes.length === 5 && codes.every((c) => c === 7),
        });
      }
    };
  }

  static async start(url: string): Promise<StatusFollower> {
    const client = await RawWampClient.connect(url, REALM);
    await client.subscribe(`${REGISTRY}.feeds.agent_status`);
    return new StatusFollower(client);
  }

  async waitForAppeared(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.appeared.size < count) {
      if (performance.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  }
}

/**
 * The router's delivery delay while the case runs: one session publishes a stamped event every
 * 100 ms, another receives it (both in this process, so one clock).
 */
class DelayProbe {
  readonly delays = new LatencyRecorder();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly publisher: RawWampClient,
    private readonly subscriber: RawWampClient,
  ) {}

  static async start(url: string): Promise<DelayProbe> {
    const [publisher, subscriber] = await Promise.all([RawWampClient.connect(url, REALM), RawWampClient.connect(url, REALM)]);
    await subscriber.subscribe(`${ROOT}.delay-probe.feeds.probe`);
    const probe = new DelayProbe(publisher, subscriber);
    subscriber.onFrame = (text) => {
      if (frameHead(text).type !== WAMP.EVENT) return false;
      probe.delays.add(performance.now() - stampIn(text));
      return true;
    };
    probe.timer = setInterval(() => publisher.send(`[16,${publisher.requestId()},{},"${ROOT}.delay-probe.feeds.probe",["@${performance.now()}"]]`), 100);
    return probe;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.publisher.close(), this.subscriber.close()]);
  }
}

// ---------------------------------------------------------------------------------------------
// One case

interface CaseResult {
  agents: number;
  usage: { router: UsageSummary; registry: UsageSummary; generatorCpuPct: number };
  sentPerS: number;
  /** Expired event time − last heartbeat sent (end to end: router delivery included). */
  detection: LatencyRecorder;
  /** Arrival of the expired event here − last heartbeat sent. */
  arrival: LatencyRecorder;
  /** Expired event time − the registry's receipt of the last heartbeat (the registry's own part). */
  fromLastHeard: LatencyRecorder;
  killed: number;
  detected: number;
  falseExpiries: number;
  falseExpiryDetails: string[];
  allSevenOnExpiry: boolean;
  lostSockets: number;
  /** Longest time between two heartbeats of one agent as sent (a generator starved of CPU would show here). */
  maxBeatGapMs: number;
  connectS: number;
  appearS: number;
  statusMainMs: number;
  registryRssAfterStatusMb: number;
  /** The router's delivery delay of a probe event (every 100 ms) during the window. */
  routerDelayMs: { p99: number; max: number };
  /** Registry restart: from its start of work (site file read, about to connect) to the last live agent back. */
  rebuildS: number;
  /** The same from the process spawn (Node start-up included). */
  rebuildFromSpawnS: number;
  rebuilt: number;
}

function pickDistinct(n: number, count: number): number[] {
  const chosen = new Set<number>();
  while (chosen.size < Math.min(count, n)) chosen.add(Math.floor(Math.random() * n));
  return [...chosen];
}

async function runCase(agents: number, plan: Plan): Promise<CaseResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ocs-registry-bench-'));
  const router = await spawnRouterProcess();
  const generators: Generator[] = [];
  const stops: Array<() => Promise<unknown>> = [];
  let lastRegistry: (() => RegistryProcess) | undefined;
  try {
    const siteFile = writeSite(dir, router);
    const probe = await RawWampClient.connect(router.url, REALM);
    stops.push(() => probe.close());
    let registry = await startRegistry(siteFile, probe);
    stops.push(() => registry.stop());
    lastRegistry = () => registry;
    const follower = await StatusFollower.start(router.url);
    stops.push(() => follower.client.close());

    for (let first = 0; first < agents; first += SESSIONS_PER_GENERATOR) {
      generators.push(Generator.start(first, Math.min(SESSIONS_PER_GENERATOR, agents - first)));
    }
    const connected = await Promise.all(generators.map((g) => g.connect(router.url)));
    const connectS = Math.max(...connected.map((c) => c.connectS));
    const beatStartMs = Date.now();
    for (const g of generators) g.beat();
    if (!(await follower.waitForAppeared(agents, 60_000))) {
      throw new Error(`only ${follower.appeared.size} of ${agents} agents appeared within 60 s`);
    }
    const appearS = (follower.lastAppearedMs - beatStartMs) / 1000;
    await sleep(plan.warmupS * 1000);

    // measurement window, with 100 kills at random times
    const victims = pickDistinct(agents, KILLS);
    const lastSent = new Map<string, number>();
    const killedAtMs = new Map<string, number>();
    const killSpanS = plan.measureS - plan.killMarginS - plan.killFromS;
    const kills = victims.map(async (index) => {
      await sleep((plan.killFromS + Math.random() * killSpanS) * 1000);
      const g = generators.find((x) => index >= x.first && index < x.first + x.count)!;
      const address = `${ROOT}.agent-${index}`;
      killedAtMs.set(address, Date.now());
      lastSent.set(address, (await g.kill(index)).lastSentMs);
    });
    const delayProbe = await DelayProbe.start(router.url);
    stops.push(() => delayProbe.stop());
    const routerWindow = new UsageWindow(router.pid);
    const registryWindow = new UsageWindow(registry.pid);
    const generatorWindows = generators.map((g) => new UsageWindow(g.pid));
    await sleep(plan.measureS * 1000);
    const usage = { router: routerWindow.stop(), registry: registryWindow.stop(), generatorCpuPct: generatorWindows.map((w) => w.stop().routerCpuPct).reduce((a, b) => a + b, 0) };
    const routerDelay = delayProbe.delays.summary();
    await Promise.all(kills);
    const deadline = performance.now() + 15_000;
    while (victims.some((i) => !follower.expiries.some((e) => e.address === `${ROOT}.agent-${i}`)) && performance.now() < deadline) await sleep(50);

    const detection = new LatencyRecorder();
    const arrival = new LatencyRecorder();
    const fromLastHeard = new LatencyRecorder();
    let falseExpiries = 0;
    const falseExpiryDetails: string[] = [];
    let detected = 0;
    for (const e of follower.expiries) {
      const sentMs = lastSent.get(e.address);
      const killMs = killedAtMs.get(e.address);
      if (sentMs === undefined || killMs === undefined || e.arrivalMs < killMs) {
        falseExpiries++;
        // when it happened (from the first beats) and the silence the registry saw
        if (falseExpiryDetails.length < 5) falseExpiryDetails.push(`${e.address} at +${((e.timeMs - beatStartMs) / 1000).toFixed(1)} s, silent ${((e.timeMs - e.lastHeardMs) / 1000).toFixed(2)} s`);
        continue;
      }
      detected++;
      detection.add(e.timeMs - sentMs);
      arrival.add(e.arrivalMs - sentMs);
      fromLastHeard.add(e.timeMs - e.lastHeardMs);
    }
    const allSevenOnExpiry = follower.expiries.every((e) => e.isAllSeven);

    // the whole table as main's session.data
    const t0 = performance.now();
    await probe.call(`${REGISTRY}.ops`, ['status', 'main']);
    const statusMainMs = performance.now() - t0;
    const registryRssAfterStatusMb = readRssMb(registry.pid);

    // restart the registry: how long until every live agent is back
    await registry.stop();
    follower.appeared.clear();
    follower.lastAppearedMs = NaN;
    const restartAtMs = Date.now();
    registry = await startRegistry(siteFile, probe);
    const live = agents - victims.length;
    const isRebuilt = await follower.waitForAppeared(live, 30_000);
    const rebuildS = isRebuilt ? (follower.lastAppearedMs - registry.readyAtMs) / 1000 : NaN;
    const rebuildFromSpawnS = isRebuilt ? (follower.lastAppearedMs - restartAtMs) / 1000 : NaN;
    const rebuilt = follower.appeared.size;

    const stats = await Promise.all(generators.map((g) => g.stop()));
    const sent = stats.reduce((a, s) => a + s.sent, 0);
    const lostSockets = stats.reduce((a, s) => a + s.lostSockets, 0);
    const maxBeatGapMs = Math.max(...stats.map((s) => s.maxBeatGapMs));
    return {
      agents,
      usage,
      sentPerS: sent / ((Date.now() - beatStartMs) / 1000),
      detection,
      arrival,
      fromLastHeard,
      killed: victims.length,
      detected,
      falseExpiries,
      falseExpiryDetails,
      allSevenOnExpiry,
      lostSockets,
      maxBeatGapMs,
      connectS,
      appearS,
      statusMainMs,
      registryRssAfterStatusMb,
      routerDelayMs: routerDelay,
      rebuildS,
      rebuildFromSpawnS,
      rebuilt,
    };
  } catch (err) {
    const tail = lastRegistry?.().tail().slice(-1500);
    throw new Error(`${err instanceof Error ? err.message : String(err)}${tail ? `; registry output: ${tail}` : ''}`);
  } finally {
    for (const g of generators) await g.forceStop();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await router.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the plan's cases (or the given agent counts). A case that fails is reported with its error and the next one runs. */
export async function run(options: BenchOptions, agentCounts?: number[]): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL;
  const report = newReport(name, options);
  process.once('exit', killAllChildren);
  for (const agents of agentCounts ?? plan.agents) {
    process.stdout.write(`  ${agents.toLocaleString('en-US')} agents ...`);
    const loadAvg1m = currentLoad();
    let deadline: NodeJS.Timeout | undefined;
    try {
      const r = await Promise.race([
        runCase(agents, plan),
        new Promise<never>((_, reject) => {
          deadline = setTimeout(() => reject(new Error(`${agents} agents: exceeded ${plan.caseDeadlineS} s`)), plan.caseDeadlineS * 1000);
        }),
      ]);
      const latency = r.detection.summary();
      process.stdout.write(` p99 detection ${Math.round(latency.p99)} ms, ${r.falseExpiries} false expiries\n`);
      report.results.push({
        benchmark: `${agents.toLocaleString('en-US')} agents`,
        client: 'raw-ws',
        durationS: r.usage.router.elapsedS,
        throughput: r.sentPerS,
        throughputUnit: 'beats/s',
        latencyMs: latency,
        routerCpuPct: r.usage.router.routerCpuPct,
        clientCpuPct: r.usage.generatorCpuPct,
        routerRssMb: r.usage.router.routerRssPeakMb,
        loadAvg1m,
        extra: {
          registryCpuPct: r.usage.registry.routerCpuPct,
          registryRssPeakMb: r.usage.registry.routerRssPeakMb,
          registryRssAfterStatusMb: r.registryRssAfterStatusMb,
          falseExpiries: r.falseExpiries,
          ...(r.falseExpiryDetails.length > 0 ? { falseExpiryDetails: r.falseExpiryDetails.join('; ') } : {}),
          killed: r.killed,
          detected: r.detected,
          detectionP99Ms: latency.p99,
          isDetectionTargetMet: latency.p99 <= DETECTION_TARGET_MS && r.detected === r.killed,
          arrivalP99Ms: r.arrival.summary().p99,
          fromLastHeardP99Ms: r.fromLastHeard.summary().p99,
          fromLastHeardMaxMs: r.fromLastHeard.summary().max,
          allOpCodes7OnExpiry: r.allSevenOnExpiry,
          lostSockets: r.lostSockets,
          maxBeatGapMs: r.maxBeatGapMs,
          connectS: r.connectS,
          appearS: r.appearS,
          statusMainMs: r.statusMainMs,
          routerDelayP99Ms: r.routerDelayMs.p99,
          routerDelayMaxMs: r.routerDelayMs.max,
          rebuildS: r.rebuildS,
          rebuildFromSpawnS: r.rebuildFromSpawnS,
          rebuilt: r.rebuilt,
        },
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      process.stdout.write(` failed: ${message}\n`);
      const none = { p50: NaN, p99: NaN, max: NaN };
      report.results.push({
        benchmark: `${agents.toLocaleString('en-US')} agents`,
        client: 'raw-ws',
        durationS: NaN,
        throughput: NaN,
        throughputUnit: 'beats/s',
        latencyMs: none,
        routerCpuPct: NaN,
        clientCpuPct: NaN,
        routerRssMb: NaN,
        loadAvg1m,
        extra: { error: message },
      });
    } finally {
      clearTimeout(deadline);
      killAllChildren();
    }
  }
  return report;
}
