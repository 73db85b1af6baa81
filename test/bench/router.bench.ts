import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AutobahnSession } from '../../lib/wamp/autobahn.js';
import { WampConnection } from '../../lib/wamp/connection.js';
import { frameHead, RawWampClient, stampIn, WAMP } from './lib/raw-wamp-client.js';
import { currentLoad, isCaseSelected, newReport, type Baseline, type BenchOptions, type BenchReport, type BenchResult } from './lib/report.js';
import { spawnRouterProcess, type RouterProcess } from '../helpers/router-process.js';
import { readRssMb, UsageWindow, type UsageSummary } from './lib/proc-stats.js';
import { LatencyRecorder } from './lib/stats.js';

/**
 * Router benchmarks. The router runs in its own process (`ocs router --port 0`); every load
 * client runs in this process. Each case starts a fresh router, warms up, measures a window
 * (throughput, latency, router CPU from /proc, this process's CPU, router peak RSS) and stops
 * everything; each case is bounded by CASE_DEADLINE_MS.
 *
 * Clients ("client" column): `raw-ws` is lib/raw-wamp-client.ts, pre-encoded JSON frames, one
 * socket write per frame; `raw-ws coalesced` writes the frames of one event-loop turn at once
 * and reads whole frames straight from the socket chunks, which halves the generator's CPU per
 * message so that the router, not the generator, is what saturates; `autobahn-js` is the project's WampConnection (autobahn-js, JSON), the client the
 * baseline figures were measured with.
 *
 * Peers in the same run: each case also runs against fox-wamp (`[fox-wamp 0.7.28]` rows), ours and
 * fox interleaved; our row's extra gives `cpuPerMsgVsFox` (router CPU µs per message, ours / fox),
 * `throughputVsFox`, `p50VsFox`, or `fox: n/a: <reason>` for a case fox-wamp cannot run.
 */

export const name = 'router';

const CASE_DEADLINE_MS = 55_000;
const CLEANUP_TIMEOUT_MS = 3000;
const REALM = 'test_realm';
const PUBLISH_ACK_WINDOW = 200;
const CONNECT_BATCH = 50;
const CLOSE_BATCH = 1000;
const HEARTBEAT_SLOTS = 100; // one slot per 10 ms: every session beats once a second, spread evenly
const HEARTBEAT_SLOT_MS = 10;
const DRAIN_TIMEOUT_MS = 5000;
const RING_MASK = 0xffff;

/** The echo payload (~90 bytes of JSON), as the items inside the args list and as the list. */
const PAYLOAD_ITEMS = '"bench",12345,{"sensor":"temperature","value":21.5,"unit":"C","ok":true,"tags":["a","b"]}';
const PAYLOAD = `[${PAYLOAD_ITEMS}]`;
const PAYLOAD_ARGS = JSON.parse(PAYLOAD) as unknown[];

const BASELINE_LABEL = 'fox-wamp 0.7.28 with autobahn-js clients, better of two runs (docs: wamp-router.md)';
const BASELINES: Record<string, Baseline> = {
  rpcSequential: { label: BASELINE_LABEL, throughput: 7_368, routerCpuPct: 47, routerRssMb: 85 },
  rpcInFlight: { label: BASELINE_LABEL, throughput: 48_958, routerCpuPct: 97, routerRssMb: 86 },
  pubsub1: { label: BASELINE_LABEL, throughput: 77_840, routerCpuPct: 97, routerRssMb: 86 },
  pubsub10: { label: BASELINE_LABEL, throughput: 163_965, routerCpuPct: 99, routerRssMb: 89 },
  heartbeat200: { label: BASELINE_LABEL, throughput: 200, routerCpuPct: 1.7, routerRssMb: 91 },
  heartbeat1000: { label: BASELINE_LABEL, throughput: 1_000, routerCpuPct: 3.8, routerRssMb: 93 },
  heartbeat10000: { label: BASELINE_LABEL, throughput: 9_973, routerCpuPct: 26.1, routerRssMb: 296 },
};

interface Plan {
  warmupS: number;
  measureS: number;
  heartbeatS: number;
}

interface Measurement {
  usage: UsageSummary;
  count: number;
  latency: LatencyRecorder;
  extra: Record<string, number | string | boolean>;
}

function toResult(benchmark: string, client: string, unit: string, loadAvg1m: number, m: Measurement, baseline?: Baseline): BenchResult {
  return {
    benchmark,
    client,
    durationS: m.usage.elapsedS,
    throughput: m.count / m.usage.elapsedS,
    throughputUnit: unit,
    latencyMs: m.latency.summary(),
    routerCpuPct: m.usage.routerCpuPct,
    clientCpuPct: m.usage.clientCpuPct,
    routerRssMb: m.usage.routerRssPeakMb,
    loadAvg1m,
    extra: m.extra,
    ...(baseline ? { baseline } : {}),
  };
}

type CaseBody = (router: RouterProcess, cleanup: (fn: () => Promise<unknown> | void) => void) => Promise<Measurement>;

/**
 * `OCS_BENCH_METRICS_AB=1`: every case runs twice, alternating, against a router with metrics
 * off (`metrics: {enabled: false}`) and one with metrics on and scraped every
 * `OCS_BENCH_SCRAPE_S` seconds (default 15, Prometheus's default interval; the first scrape at
 * once); the client column says which.
 */
const METRICS_AB = process.env['OCS_BENCH_METRICS_AB'] === '1';
let metricsOffConfig: string | undefined;
let abTurn = 0;

function metricsOffArgs(): string[] {
  if (metricsOffConfig === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'ocs-bench-metrics-'));
    metricsOffConfig = join(dir, 'metrics-off.yaml');
    writeFileSync(metricsOffConfig, 'metrics: {enabled: false}\n');
  }
  return ['--config', metricsOffConfig];
}

const SCRAPE_S = Number(process.env['OCS_BENCH_SCRAPE_S'] ?? 15);

/** Scrapes the router's /metrics now and every SCRAPE_S seconds until stopped (the "on" side of the A/B). */
function scrapePeriodically(router: RouterProcess): () => void {
  const url = router.url.replace(/^ws/, 'http').replace(/\/ws$/, '/metrics');
  const scrape = () => void fetch(url).then((r) => r.text()).catch(() => undefined);
  scrape();
  const timer = setInterval(scrape, SCRAPE_S * 1000);
  return () => clearInterval(timer);
}

/**
 * The peer router, fox-wamp (pinned devDependency), started through test/bench/lib/fox-router-entry.ts
 * with `ocs router`'s command line. Every case runs against ours and fox-wamp in the same run,
 * interleaved (the order alternates from case to case); our row gets the ratios. `OCS_BENCH_PEERS=off`
 * runs ours only.
 */
const FOX_ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'fox-router-entry.js');
const FOX_VERSION = (createRequire(import.meta.url)('fox-wamp/package.json') as { version: string }).version;
const FOX_LABEL = `fox-wamp ${FOX_VERSION}`;
const PEERS = process.env['OCS_BENCH_PEERS'] !== 'off';
let peerTurn = 0;

const cpuUsPerMessage = (r: BenchResult): number => (r.throughput > 0 ? (r.routerCpuPct / 100) * 1e6 / r.throughput : NaN);
const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Runs one case against ours and fox-wamp, interleaved; `foxCannot` says why fox-wamp cannot run it (n/a). */
async function runCase(
  report: BenchReport,
  options: BenchOptions,
  benchmark: string,
  client: string,
  unit: string,
  baseline: Baseline | undefined,
  body: CaseBody,
  foxCannot?: string,
): Promise<void> {
  if (!PEERS || METRICS_AB || !isCaseSelected(options, benchmark)) return runMetricsCase(report, options, benchmark, client, unit, baseline, body);
  const ours = async () => {
    await runOneCase(report, options, { benchmark, client, unit, baseline, body }, []);
    return report.results.at(-1)?.benchmark === benchmark && report.results.at(-1)?.client === client ? report.results.at(-1) : undefined;
  };
  const fox = async () => {
    if (foxCannot !== undefined) return undefined;
    await runOneCase(report, options, { benchmark, client: `${client} [${FOX_LABEL}]`, unit, baseline: undefined, body }, [], false, FOX_ENTRY);
    return report.results.at(-1)?.client === `${client} [${FOX_LABEL}]` ? report.results.at(-1) : undefined;
  };
  let mine: BenchResult | undefined;
  let theirs: BenchResult | undefined;
  if (peerTurn++ % 2 === 0) {
    mine = await ours();
    theirs = await fox();
  } else {
    theirs = await fox();
    mine = await ours();
  }
  if (mine === undefined) return;
  if (foxCannot !== undefined) {
    mine.extra['fox'] = `n/a: ${foxCannot}`;
    return;
  }
  if (theirs === undefined) {
    mine.extra['fox'] = 'n/a: the fox-wamp run failed (see failures)';
    return;
  }
  mine.extra['foxThroughput'] = Math.round(theirs.throughput);
  mine.extra['foxCpuUsPerMsg'] = round2(cpuUsPerMessage(theirs));
  mine.extra['cpuPerMsgVsFox'] = round2(cpuUsPerMessage(mine) / cpuUsPerMessage(theirs));
  mine.extra['throughputVsFox'] = round2(mine.throughput / theirs.throughput);
  mine.extra['p50VsFox'] = round2(mine.latencyMs.p50 / theirs.latencyMs.p50);
}

/** Runs one case (twice with OCS_BENCH_METRICS_AB, metrics off and on, alternating which goes first). */
async function runMetricsCase(report: BenchReport, options: BenchOptions, benchmark: string, client: string, unit: string, baseline: Baseline | undefined, body: CaseBody): Promise<void> {
  if (!METRICS_AB) return runOneCase(report, options, { benchmark, client, unit, baseline, body }, []);
  const variants: [string, string[], boolean][] = [
    [`${client} [metrics off]`, metricsOffArgs(), false],
    [`${client} [metrics on, scraped every ${SCRAPE_S} s]`, [], true],
  ];
  if (abTurn++ % 2 === 1) variants.reverse();
  for (const [label, args, isScraped] of variants) await runOneCase(report, options, { benchmark, client: label, unit, baseline, body }, args, isScraped);
}

/** One case as a row: what is measured, with which client, in which unit, against which baseline. */
interface CaseSpec {
  benchmark: string;
  client: string;
  unit: string;
  baseline: Baseline | undefined;
  body: CaseBody;
}

/** Runs one case against a fresh router process, within the deadline, and always stops it. */
async function runOneCase(report: BenchReport, options: BenchOptions, spec: CaseSpec, routerArgs: string[], isScraped = false, entry?: string): Promise<void> {
  const { benchmark, client, unit, baseline, body } = spec;
  if (!isCaseSelected(options, benchmark)) return;
  process.stdout.write(`  ${benchmark} [${client}] ...`);
  const loadAvg1m = currentLoad();
  const router = await spawnRouterProcess(routerArgs, entry);
  const cleanups: (() => Promise<unknown> | void)[] = [];
  if (isScraped) cleanups.push(scrapePeriodically(router));
  let deadline: NodeJS.Timeout | undefined;
  try {
    const measured = await Promise.race([
      body(router, (fn) => cleanups.push(fn)),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error(`${benchmark} [${client}] exceeded ${CASE_DEADLINE_MS} ms`)), CASE_DEADLINE_MS);
      }),
    ]);
    const result = toResult(benchmark, client, unit, loadAvg1m, measured, baseline);
    report.results.push(result);
    process.stdout.write(` ${Math.round(result.throughput).toLocaleString('en-US')} ${unit}\n`);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    process.stdout.write(` failed: ${error}\n`);
    report.failures.push({ benchmark, client, error });
  } finally {
    clearTimeout(deadline);
    const closeClients = async (): Promise<void> => {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch {
          // the router is about to go: a client that cannot close cleanly does not matter
        }
      }
    };
    // bounded: after a deadline, stopping the router closes whatever is left
    await Promise.race([closeClients(), sleep(CLEANUP_TIMEOUT_MS)]);
    await router.stop();
  }
}

/** Waits until `isDone()` or the drain timeout; returns whether it got there. */
async function drain(isDone: () => boolean): Promise<boolean> {
  const until = performance.now() + DRAIN_TIMEOUT_MS;
  while (!isDone()) {
    if (performance.now() > until) return false;
    await sleep(5);
  }
  return true;
}

async function rawClient(router: RouterProcess, cleanup: (fn: () => Promise<unknown>) => void, shouldCoalesceWrites = false): Promise<RawWampClient> {
  const c = await RawWampClient.connect(router.url, REALM, { shouldCoalesceWrites });
  cleanup(() => c.close());
  return c;
}

async function autobahnSession(router: RouterProcess, cleanup: (fn: () => Promise<unknown>) => void): Promise<AutobahnSession> {
  const conn = new WampConnection({ url: router.url, realm: REALM });
  cleanup(() => conn.close());
  return conn.open();
}

/** Measures `plan.measureS` after `plan.warmupS`, flipping `recording` around the window. */
async function window(router: RouterProcess, plan: Plan, setRecording: (on: boolean) => void): Promise<UsageSummary> {
  await sleep(plan.warmupS * 1000);
  setRecording(true);
  const w = new UsageWindow(router.pid);
  await sleep(plan.measureS * 1000);
  const usage = w.stop();
  setRecording(false);
  return usage;
}

// ---------------------------------------------------------------------------------------------
// RPC

interface RpcLoad {
  callers: number;
  inFlightPerCaller: number;
  shouldCoalesceWrites: boolean;
}

function rpcRaw(plan: Plan, load: RpcLoad) {
  return async (router: RouterProcess, cleanup: (fn: () => Promise<unknown>) => void): Promise<Measurement> => {
    const connect = (): Promise<RawWampClient> => rawClient(router, cleanup, load.shouldCoalesceWrites);
    const callee = await connect();
    const callers = await Promise.all(Array.from({ length: load.callers }, connect));
    await callee.register('bench.echo');
    const yieldTail = `,{},${PAYLOAD}]`;
    callee.onFrame = (text) => {
      const h = frameHead(text);
      if (h.type !== WAMP.INVOCATION) return false;
      callee.send(`[70,${h.id}${yieldTail}`);
      return true;
    };
    const callTail = `,{},"bench.echo",${PAYLOAD}]`;
    const resultTail = `${PAYLOAD}]`;
    const latency = new LatencyRecorder();
    let isRecording = false;
    let isStopping = false;
    let completed = 0;
    let outstanding = 0;
    let badResults = 0;
    for (const caller of callers) {
      // request ids are per session: the latency ring is per caller
      const sentAtMs = new Float64Array(RING_MASK + 1);
      const sendCall = (): void => {
        const id = caller.requestId();
        sentAtMs[id & RING_MASK] = performance.now();
        outstanding++;
        caller.send(`[48,${id}${callTail}`);
      };
      caller.onFrame = (text) => {
        const h = frameHead(text);
        if (h.type !== WAMP.RESULT && h.type !== WAMP.ERROR) return false;
        outstanding--;
        if (h.type !== WAMP.RESULT || !text.endsWith(resultTail)) badResults++;
        if (isRecording) {
          latency.add(performance.now() - sentAtMs[h.id & RING_MASK]!);
          completed++;
        }
        if (!isStopping) sendCall();
        return true;
      };
      for (let i = 0; i < load.inFlightPerCaller; i++) sendCall();
    }
    const usage = await window(router, plan, (on) => (isRecording = on));
    isStopping = true;
    const isDrained = await drain(() => outstanding === 0);
    return { usage, count: completed, latency, extra: { callers: load.callers, inFlight: load.callers * load.inFlightPerCaller, badResults, isDrained } };
  };
}

function rpcAutobahn(plan: Plan, inFlight: number) {
  return async (router: RouterProcess, cleanup: (fn: () => Promise<unknown>) => void): Promise<Measurement> => {
    const callee = await autobahnSession(router, cleanup);
    const caller = await autobahnSession(router, cleanup);
    await callee.register('bench.echo', (args) => args);
    const latency = new LatencyRecorder();
    let isRecording = false;
    let isStopping = false;
    let completed = 0;
    let badResults = 0;
    const loop = async (): Promise<void> => {
      while (!isStopping) {
        const t0 = performance.now();
        const r = await caller.call<unknown[]>('bench.echo', PAYLOAD_ARGS);
        if (!Array.isArray(r) || r.length !== PAYLOAD_ARGS.length) badResults++;
        if (isRecording) {
          latency.add(performance.now() - t0);
          completed++;
        }
      }
    };
    const loops = Array.from({ length: inFlight }, loop);
    const usage = await window(router, plan, (on) => (isRecording = on));
    isStopping = true;
    await Promise.all(loops);
    return { usage, count: completed, latency, extra: { inFlight, badResults } };
  };
}

// ---------------------------------------------------------------------------------------------
// Publish -> event

function pubsubRaw(plan: Plan, subscriberCount: number, shouldCoalesceWrites = false) {
  return async (router: RouterProcess, cleanup: (fn: () => Promise<unknown>) => void): Promise<Measurement> => {
    const publisher = await rawClient(router, cleanup, shouldCoalesceWrites);
    const subscribers = await Promise.all(Array.from({ length: subscriberCount }, () => rawClient(router, cleanup, shouldCoalesceWrites)));
    const latency = new LatencyRecorder();
    let isRecording = false;
    let received = 0;
    for (const s of subscribers) {
      await s.subscribe('bench.topic');
      s.onFrame = (text) => {
        if (frameHead(text).type !== WAMP.EVENT) return false;
        received++;
        if (isRecording) latency.add(performance.now() - stampIn(text));
        return true;
      };
    }
    const pubHead = '[16,';
    const pubMid = ',{"acknowledge":true},"bench.topic",["@';
    const pubTail = `",${PAYLOAD_ITEMS}]]`;
    let isStopping = false;
    let published = 0;
    let acked = 0;
    let errors = 0;
    let outstanding = 0;
    const publish = (): void => {
      outstanding++;
      published++;
      publisher.send(pubHead + publisher.requestId() + pubMid + performance.now() + pubTail);
    };
    publisher.onFrame = (text) => {
      const type = frameHead(text).type;
      if (type !== WAMP.PUBLISHED && type !== WAMP.ERROR) return false;
      outstanding--;
      if (type === WAMP.PUBLISHED) acked++;
      else errors++;
      if (!isStopping) publish();
      return true;
    };
    for (let i = 0; i < PUBLISH_ACK_WINDOW; i++) publish();
    let receivedAtStart = 0;
    let ackedAtStart = 0;
    let receivedInWindow = 0;
    let ackedInWindow = 0;
    const usage = await window(router, plan, (on) => {
      isRecording = on;
      if (on) {
        receivedAtStart = received;
        ackedAtStart = acked;
      } else {
        receivedInWindow = received - receivedAtStart;
        ackedInWindow = acked - ackedAtStart;
      }
    });
    isStopping = true;
    await drain(() => outstanding === 0 && received >= published * subscriberCount);
    return {
      usage,
      count: receivedInWindow,
      latency,
      extra: {
        subscribers: subscriberCount,
        publishesPerS: ackedInWindow / usage.elapsedS,
        ackWindow: PUBLISH_ACK_WINDOW,
        lost: published * subscriberCount - received,
        errors,
      },
    };
  };
}

function pubsubAutobahn(plan: Plan) {
  return async (router: RouterProcess, cleanup: (fn: () => Promise<unknown>) => void): Promise<Measurement> => {
    const publisher = await autobahnSession(router, cleanup);
    const subscriber = await autobahnSession(router, cleanup);
    const latency = new LatencyRecorder();
    let isRecording = false;
    let received = 0;
    await subscriber.subscribe('bench.topic', (args) => {
      received++;
      if (isRecording) latency.add(performance.now() - (args![0] as number));
    });
    let isStopping = false;
    let published = 0;
    const loop = async (): Promise<void> => {
      while (!isStopping) {
        published++;
        await publisher.publish('bench.topic', [performance.now(), ...PAYLOAD_ARGS], {}, { acknowledge: true });
      }
    };
    const loops = Array.from({ length: PUBLISH_ACK_WINDOW }, loop);
    let receivedAtStart = 0;
    let receivedInWindow = 0;
    const usage = await window(router, plan, (on) => {
      isRecording = on;
      if (on) receivedAtStart = received;
      else receivedInWindow = received - receivedAtStart;
    });
    isStopping = true;
    await Promise.all(loops);
    await drain(() => received >= published);
    return { usage, count: receivedInWindow, latency, extra: { subscribers: 1, ackWindow: PUBLISH_ACK_WINDOW, lost: published - received } };
  };
}

// ---------------------------------------------------------------------------------------------
// Heartbeats: N sessions, each publishing one OCS-style heartbeat a second to
// observatory.agent-<i>.feeds.heartbeat; one wildcard subscriber on observatory..feeds.heartbeat.
//
// Phase `join`: each session beats a whole number of seconds after it joined, as an agent's
// 1 s timer started at join does; sessions that join together (batches of CONNECT_BATCH) beat
// together, as in the baseline. Phase `spread`: the beats are spread evenly over the second (10 ms
// slots), the pattern of agents started at unrelated times, which wakes the router most often.

type HeartbeatPhase = 'join' | 'spread';

const SESSION_ID_KEY = '"agent_session_id":"';
/** A beat later than this after the session's previous one counts as missed (beats are 1 s apart). */
const MISSED_GAP_MS = 1500;

/**
 * The largest heartbeat fleet this machine lets one process hold, up to `wanted`: the router and
 * this load generator each need one descriptor per session (RLIMIT_NOFILE, /proc/self/limits).
 */
function fleetSizeWithin(wanted: number): { n: number; limit: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = line === undefined ? NaN : Number(line.split(/\s+/)[3]);
  const limit = Number.isFinite(soft) ? soft : wanted + DESCRIPTOR_RESERVE;
  return { n: Math.min(wanted, Math.floor((limit - DESCRIPTOR_RESERVE) / 100) * 100), limit };
}
/** descriptors a process needs besides its sessions (listening socket, stdio, pipes, libuv) */
const DESCRIPTOR_RESERVE = 100;

function heartbeats(plan: Plan, sessionCount: number, phase: HeartbeatPhase) {
  return async (router: RouterProcess, cleanup: (fn: () => Promise<unknown>) => void): Promise<Measurement> => {
    const subscriber = await rawClient(router, cleanup);
    await subscriber.subscribe('observatory..feeds.heartbeat', { match: 'wildcard' });
    const latency = new LatencyRecorder();
    let isRecording = false;
    let delivered = 0;
    // missed heartbeats: while measuring, a session whose beats arrive more than MISSED_GAP_MS apart
    const lastBeatAtMs = new Float64Array(sessionCount);
    let missed = 0;
    let maxGapMs = 0;
    subscriber.onFrame = (text) => {
      if (frameHead(text).type !== WAMP.EVENT) return false;
      delivered++;
      const now = performance.now();
      const at = text.indexOf(SESSION_ID_KEY);
      const i = at < 0 ? -1 : parseInt(text.slice(at + SESSION_ID_KEY.length, at + SESSION_ID_KEY.length + 8), 10);
      if (isRecording) {
        latency.add(now - stampIn(text));
        if (i >= 0 && lastBeatAtMs[i]! > 0) {
          const gap = now - lastBeatAtMs[i]!;
          if (gap > maxGapMs) maxGapMs = gap;
          if (gap > MISSED_GAP_MS) missed++;
        }
      }
      if (i >= 0) lastBeatAtMs[i] = now;
      return true;
    };

    const connectStartMs = performance.now();
    const clients: RawWampClient[] = [];
    let isClosed = false;
    const closeAll = async (): Promise<void> => {
      if (isClosed) return;
      isClosed = true;
      for (let i = 0; i < clients.length; i += CLOSE_BATCH) await Promise.all(clients.slice(i, i + CLOSE_BATCH).map((c) => c.close()));
    };
    cleanup(closeAll);
    const joinedAtMs: number[] = [];
    const join = async (): Promise<RawWampClient> => {
      const c = await RawWampClient.connect(router.url, REALM);
      joinedAtMs.push(performance.now() - connectStartMs);
      return c;
    };
    for (let i = 0; i < sessionCount; i += CONNECT_BATCH) {
      const batch = Math.min(CONNECT_BATCH, sessionCount - i);
      clients.push(...(await Promise.all(Array.from({ length: batch }, join))));
    }
    const connectS = (performance.now() - connectStartMs) / 1000;

    const frames = clients.map((_, i) => [
      '[16,',
      `,{},"observatory.agent-${i}.feeds.heartbeat",[[{"acq":3,"stream":1},{"agent_address":"observatory.agent-${i}","feed_name":"heartbeat","agent_class":"FakeDataAgent","agent_session_id":"${i}-bench","t":"@`,
      '"}]]]',
    ]);
    const bySlot: number[][] = Array.from({ length: HEARTBEAT_SLOTS }, () => []);
    const slotOf = (i: number): number =>
      phase === 'spread' ? i % HEARTBEAT_SLOTS : Math.floor((joinedAtMs[i]! % (HEARTBEAT_SLOTS * HEARTBEAT_SLOT_MS)) / HEARTBEAT_SLOT_MS);
    clients.forEach((_, i) => bySlot[slotOf(i)]!.push(i));
    const busySlots = bySlot.filter((slot) => slot.length > 0).length;
    let sent = 0;
    const sendStartMs = performance.now();
    let nextSlot = 0;
    const tick = (): void => {
      const due = Math.floor((performance.now() - sendStartMs) / HEARTBEAT_SLOT_MS);
      for (; nextSlot <= due; nextSlot++) {
        for (const i of bySlot[nextSlot % HEARTBEAT_SLOTS]!) {
          const c = clients[i]!;
          const f = frames[i]!;
          c.send(f[0]! + c.requestId() + f[1]! + performance.now() + f[2]!);
          sent++;
        }
      }
    };
    const ticker = setInterval(tick, HEARTBEAT_SLOT_MS);
    let deliveredAtStart = 0;
    let deliveredInWindow = 0;
    let usage: UsageSummary;
    try {
      usage = await window(router, { ...plan, measureS: plan.heartbeatS }, (on) => {
        isRecording = on;
        if (on) deliveredAtStart = delivered;
        else deliveredInWindow = delivered - deliveredAtStart;
      });
    } finally {
      clearInterval(ticker);
    }
    await drain(() => delivered >= sent);

    const closeStartMs = performance.now();
    await closeAll();
    const closeS = (performance.now() - closeStartMs) / 1000;
    await sleep(1000);
    const rssAfterLeaveMb = readRssMb(router.pid);
    const sessionsLeft = (await subscriber.call('wamp.session.count'))[0] as number;
    return {
      usage,
      count: deliveredInWindow,
      latency,
      extra: {
        sessions: sessionCount,
        phase,
        sendingSlotsPerS: busySlots,
        sent,
        delivered,
        missedHeartbeats: missed + (sent - delivered),
        maxBeatGapMs: Math.round(maxGapMs),
        connectS,
        closeS,
        rssAfterLeaveMb,
        sessionsLeftAfterLeave: sessionsLeft,
      },
    };
  };
}

const NO_WILDCARD = 'fox-wamp has no wildcard subscriptions (the heartbeat cases subscribe to observatory..feeds.heartbeat)';

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  const plan: Plan = options.quick ? { warmupS: 0.5, measureS: 3, heartbeatS: 5 } : { warmupS: 1, measureS: 10, heartbeatS: 20 };
  const heartbeatPlan: Plan = { ...plan, warmupS: options.quick ? 1 : 2 };
  await runCase(report, options, 'rpc sequential', 'raw-ws', 'calls/s', BASELINES['rpcSequential'], rpcRaw(plan, { callers: 1, inFlightPerCaller: 1, shouldCoalesceWrites: false }));
  await runCase(report, options, 'rpc sequential', 'autobahn-js', 'calls/s', BASELINES['rpcSequential'], rpcAutobahn(plan, 1));
  await runCase(report, options, 'rpc 100 in flight', 'raw-ws', 'calls/s', BASELINES['rpcInFlight'], rpcRaw(plan, { callers: 1, inFlightPerCaller: 100, shouldCoalesceWrites: false }));
  await runCase(report, options, 'rpc 100 in flight', 'autobahn-js', 'calls/s', BASELINES['rpcInFlight'], rpcAutobahn(plan, 100));
  // router capacity: a leaner generator (writes coalesced per turn) and ten independent callers
  await runCase(report, options, 'rpc 100 in flight', 'raw-ws coalesced, 10 callers', 'calls/s', BASELINES['rpcInFlight'], rpcRaw(plan, { callers: 10, inFlightPerCaller: 10, shouldCoalesceWrites: true }));
  await runCase(report, options, 'publish to 1 subscriber', 'raw-ws', 'events/s', BASELINES['pubsub1'], pubsubRaw(plan, 1));
  await runCase(report, options, 'publish to 1 subscriber', 'autobahn-js', 'events/s', BASELINES['pubsub1'], pubsubAutobahn(plan));
  await runCase(report, options, 'publish to 1 subscriber', 'raw-ws coalesced', 'events/s', BASELINES['pubsub1'], pubsubRaw(plan, 1, true));
  await runCase(report, options, 'publish to 10 subscribers', 'raw-ws', 'events/s', BASELINES['pubsub10'], pubsubRaw(plan, 10));
  await runCase(report, options, 'publish to 10 subscribers', 'raw-ws coalesced', 'events/s', BASELINES['pubsub10'], pubsubRaw(plan, 10, true));
  for (const n of [200, 1_000, 10_000]) {
    await runCase(report, options, `${n.toLocaleString('en-US')} heartbeat sessions`, 'raw-ws', 'msg/s', BASELINES[`heartbeat${n}`], heartbeats(heartbeatPlan, n, 'join'), NO_WILDCARD);
  }
  // the 20,000-session fleet, or as many as the descriptor limit allows (said in the row)
  const fleet = fleetSizeWithin(20_000);
  const fleetName = `${fleet.n.toLocaleString('en-US')} heartbeat sessions${fleet.n < 20_000 ? ` (20,000 need more than this machine's ${fleet.limit.toLocaleString('en-US')} open files per process)` : ''}`;
  await runCase(report, options, fleetName, 'raw-ws', 'msg/s', undefined, heartbeats(heartbeatPlan, fleet.n, 'join'), NO_WILDCARD);
  for (const n of [200, 1_000]) {
    await runCase(report, options, `${n.toLocaleString('en-US')} heartbeat sessions, spread`, 'raw-ws', 'msg/s', BASELINES[`heartbeat${n}`], heartbeats(heartbeatPlan, n, 'spread'), NO_WILDCARD);
  }
  return report;
}
