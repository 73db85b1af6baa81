import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../helpers/project-root.js';
import { RawWampClient, WAMP } from './lib/raw-wamp-client.js';
import { currentLoad, isCaseSelected, newReport, type BenchOptions, type BenchReport } from './lib/report.js';

/**
 * What the router's metrics cost, counted in instructions rather than seconds: on this 2-vCPU
 * machine a timed case repeats within 15–25 %, far from the 3 % to be shown, while valgrind's
 * callgrind counts the instructions the router process executes, the same on a busy machine.
 *
 * Per case, config (metrics off / on) and repeat, one router (`ocs router --config`) runs under
 * callgrind: the case's clients connect, a warm-up batch runs (the JIT settles), the counters are
 * zeroed (`callgrind_control -z`), the measured batch runs, and the counters of every thread of the
 * router (GC helpers included) are read (`callgrind_control -e`): instructions per message. With
 * metrics on, one scrape of /metrics is then counted alone, to state what Prometheus's 15 s
 * cadence adds at a given message rate.
 * Cases: sequential RPC (one caller, one callee), acknowledged publish to one subscriber, and
 * heartbeats (50 publishing sessions, one wildcard subscriber, as the Registry listens).
 * Needs valgrind (Debian's package). OCS_BENCH_REPEATS sets the repeats (default 3, 1 with --quick).
 */
export const name = 'metrics-cost';

const REPEATS = 3;
const QUICK_REPEATS = 1;
/** Warm-up batch, as a share of the measured one. */
const WARMUP_SHARE = 0.25;
const READY_TIMEOUT_MS = 120_000;

interface Case {
  title: string;
  messages: number;
  /** connects and prepares the clients; `run(n)` then sends n messages and resolves when all are through */
  prepare(url: string): Promise<{ run(n: number): Promise<void>; close(): Promise<void> }>;
}

const CASES: Case[] = [
  {
    title: 'rpc sequential',
    messages: 4000,
    async prepare(url) {
      const callee = await RawWampClient.connect(url);
      await callee.register('bench.echo');
      callee.serve((args) => args[0]);
      const caller = await RawWampClient.connect(url);
      return {
        run: async (n) => {
          for (let i = 0; i < n; i++) await caller.call('bench.echo', [i]);
        },
        close: async () => {
          await caller.close();
          await callee.close();
        },
      };
    },
  },
  {
    title: 'publish -> 1 subscriber',
    messages: 8000,
    async prepare(url) {
      const subscriber = await RawWampClient.connect(url);
      await subscriber.subscribe('bench.topic');
      let received = 0;
      subscriber.onMessage = (m) => {
        if (m[0] === WAMP.EVENT) received++;
      };
      const publisher = await RawWampClient.connect(url);
      return {
        run: async (n) => {
          const target = received + n;
          for (let i = 0; i < n; i += 50) {
            await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => publisher.request((id) => [WAMP.PUBLISH, id, { acknowledge: true }, 'bench.topic', [i + j]])));
          }
          while (received < target) await new Promise((r) => setTimeout(r, 10));
        },
        close: async () => {
          await publisher.close();
          await subscriber.close();
        },
      };
    },
  },
  {
    title: 'heartbeats, 50 sessions -> wildcard',
    messages: 8000,
    async prepare(url) {
      const subscriber = await RawWampClient.connect(url);
      await subscriber.subscribe('observatory..feeds.heartbeat', { match: 'wildcard' });
      let received = 0;
      subscriber.onMessage = (m) => {
        if (m[0] === WAMP.EVENT) received++;
      };
      const agents = await Promise.all(Array.from({ length: 50 }, () => RawWampClient.connect(url)));
      return {
        run: async (n) => {
          const target = received + n;
          for (let round = 0; round < Math.ceil(n / 50); round++) {
            await Promise.all(
              agents.map((a, i) => {
                const address = `observatory.agent-${i}`;
                const feed = { agent_address: address, agg_params: {}, feed_name: 'heartbeat', address: `${address}.feeds.heartbeat`, record: false, session_id: '1.5', agent_class: 'BenchAgent' };
                return a.request((id) => [WAMP.PUBLISH, id, { acknowledge: true }, `${address}.feeds.heartbeat`, [[{ acq: 3, count: 1 }, feed]]]);
              }),
            );
          }
          while (received < target) await new Promise((r) => setTimeout(r, 10));
        },
        close: async () => {
          for (const a of agents) await a.close();
          await subscriber.close();
        },
      };
    },
  },
];

/** The instructions every thread of the callgrind run `pid` executed since its counters were zeroed. */
function readInstructions(pid: number): number {
  const r = spawnSync('callgrind_control', ['-e', String(pid)], { encoding: 'utf8', timeout: 60_000 });
  const counts = [...r.stdout.matchAll(/^\s*Th\s*\d+\s+([\d,]+)\s*$/gm)].map((m) => Number(m[1]!.replace(/,/g, '')));
  if (counts.length === 0) throw new Error(`callgrind_control -e ${pid} printed no counters: ${r.stdout}${r.stderr}`);
  return counts.reduce((a, b) => a + b, 0);
}

function zeroInstructions(pid: number): void {
  const r = spawnSync('callgrind_control', ['-z', String(pid)], { encoding: 'utf8', timeout: 60_000 });
  if (!r.stdout.includes('OK')) throw new Error(`callgrind_control -z ${pid}: ${r.stdout}${r.stderr}`);
}

interface Counted {
  perMessage: number;
  /** instructions of one scrape of /metrics (metrics on), else NaN */
  perScrape: number;
}

/** One router under callgrind with `config`: warm-up, zero, the measured batch, read; then one scrape alone. */
async function countCase(dir: string, c: Case, isMetricsOn: boolean, messages: number): Promise<Counted> {
  const configFile = join(dir, `config-${isMetricsOn ? 'on' : 'off'}.json`);
  writeFileSync(configFile, JSON.stringify({ metrics: { enabled: isMetricsOn } }));
  const child = spawn(
    'valgrind',
    // V8 in predictable mode (no concurrent compiler or GC threads, fixed seeds): the same run counts the same
    ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'cg.%p.out')}`, '--smc-check=all-non-file', process.execPath, '--predictable', '--random-seed=1', '--hash-seed=1', join(projectRoot(), 'dist', 'bin', 'ocs.js'), 'router', '--port', '0', '--config', configFile, '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-3000)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`router under valgrind did not listen within ${READY_TIMEOUT_MS} ms: ${stderr}`)), READY_TIMEOUT_MS);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = /^router listening on (ws:\/\/\S+)$/.exec(line.trim());
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const port = Number(new URL(url).port);
    const clients = await c.prepare(url);
    await clients.run(Math.round(messages * WARMUP_SHARE));
    // the same HTTP request in both configs (a 404 when off), its connection closed: an idle
    // keep-alive socket would add the server's per-second connection checks to one side only
    await scrape(port, isMetricsOn);
    zeroInstructions(child.pid!);
    await clients.run(messages);
    const perMessage = readInstructions(child.pid!) / messages;
    let perScrape = NaN;
    if (isMetricsOn) {
      zeroInstructions(child.pid!);
      await scrape(port, true);
      perScrape = readInstructions(child.pid!);
    }
    await clients.close();
    return { perMessage, perScrape };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function scrape(port: number, isServed: boolean): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } });
  await res.text();
  if (res.ok !== isServed) throw new Error(`/metrics answered ${res.status}`);
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const report = newReport(name, options);
  const hasValgrind = spawnSync('callgrind_control', ['-h'], { encoding: 'utf8' }).status === 0;
  const repeats = Number(process.env['OCS_BENCH_REPEATS'] ?? (options.quick ? QUICK_REPEATS : REPEATS));
  const dir = mkdtempSync(join(tmpdir(), 'ocs-metrics-cost-'));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  try {
    for (const c of CASES) {
      if (!isCaseSelected(options, c.title)) continue;
      if (!hasValgrind) {
        report.failures.push({ benchmark: c.title, client: 'raw-ws', error: 'valgrind is not installed (apt-get install valgrind)' });
        continue;
      }
      const messages = options.quick ? Math.round(c.messages / 4) : c.messages;
      const counted: Record<'off' | 'on', Counted[]> = { off: [], on: [] };
      // alternating, so a drift over the run touches both alike
      for (let r = 0; r < repeats; r++) {
        for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
          const result = await countCase(dir, c, mode === 'on', messages);
          counted[mode].push(result);
          process.stdout.write(`  ${c.title}, metrics ${mode}: ${result.perMessage.toFixed(0)} instructions per message\n`);
        }
      }
      const off = mean(counted.off.map((x) => x.perMessage));
      const on = mean(counted.on.map((x) => x.perMessage));
      const perScrape = mean(counted.on.map((x) => x.perScrape));
      for (const mode of ['off', 'on'] as const) {
        const values = counted[mode].map((x) => x.perMessage);
        report.results.push({
          benchmark: `${c.title}, metrics ${mode}`,
          client: 'raw-ws',
          durationS: NaN,
          throughput: messages,
          throughputUnit: 'messages',
          latencyMs: { p50: NaN, p99: NaN, max: NaN },
          routerCpuPct: NaN,
          clientCpuPct: NaN,
          routerRssMb: NaN,
          loadAvg1m: currentLoad(),
          extra: {
            instructionsPerMessage: Math.round(mean(values)),
            runs: values.map((v) => Math.round(v)).join(' '),
            repeatSpreadPct: Number((((Math.max(...values) - Math.min(...values)) / mean(values)) * 100).toFixed(2)),
            ...(mode === 'on'
              ? {
                  onOverOffPct: Number((((on - off) / off) * 100).toFixed(2)),
                  instructionsPerScrape: Math.round(perScrape),
                  // one scrape every 15 s spread over 1,000 messages a second
                  scrapeAt1kPerSPct: Number(((perScrape / (15 * 1000 * off)) * 100).toFixed(3)),
                }
              : {}),
          },
        });
      }
    }
  } finally {
    for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
