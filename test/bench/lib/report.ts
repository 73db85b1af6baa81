import { cpus, loadavg } from 'node:os';
import type { UsageSummary } from './proc-stats.js';
import type { LatencySummary } from './stats.js';

/** What every `*.bench.ts` returns from `run()`; written as JSON and printed as a table. */
export interface BenchResult {
  benchmark: string;
  /** The load generator: 'raw-ws' (lean pre-encoded frames) or 'autobahn-js'. */
  client: string;
  durationS: number;
  throughput: number;
  throughputUnit: string;
  latencyMs: LatencySummary;
  routerCpuPct: number;
  clientCpuPct: number;
  routerRssMb: number;
  /** 1-minute load average when the measurement started (other work on the machine). */
  loadAvg1m: number;
  extra: Record<string, number | string | boolean>;
  baseline?: Baseline;
}

/** A reference figure measured earlier on the same kind of machine. */
export interface Baseline {
  label: string;
  throughput?: number;
  routerCpuPct?: number;
  routerRssMb?: number;
}

export interface BenchReport {
  name: string;
  startedAt: string;
  quick: boolean;
  host: { cpus: number; node: string; platform: string };
  results: BenchResult[];
  /** Cases that could not be measured (deadline, crash); the run exits non-zero when any. */
  failures: { benchmark: string; client: string; error: string }[];
}

export interface BenchOptions {
  quick: boolean;
  /** Only the cases whose benchmark name contains one of these (absent or empty: all). */
  cases?: string[];
}

/** Whether a case is selected by `--case` filters. */
export function isCaseSelected(options: BenchOptions, benchmark: string): boolean {
  return !options.cases?.length || options.cases.some((c) => benchmark.includes(c));
}

export function newReport(name: string, options: BenchOptions): BenchReport {
  return {
    name,
    startedAt: new Date().toISOString(),
    quick: options.quick,
    host: { cpus: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    results: [],
    failures: [],
  };
}

export function currentLoad(): number {
  return loadavg()[0]!;
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const ms = (n: number): string => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '-');
const pct = (n: number | undefined): string => (n !== undefined && Number.isFinite(n) ? `${n.toFixed(1)}%` : '-');
const us = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const mb = (n: number | undefined): string => (n !== undefined && Number.isFinite(n) ? `${Math.round(n)} MB` : '-');

/**
 * Router CPU time per message, in microseconds: less sensitive than throughput to other work
 * on the machine, since a busy neighbour lowers both the CPU share and the rate.
 */
export function cpuPerMessageUs(cpuPct: number, perS: number): number {
  return perS > 0 ? ((cpuPct / 100) * 1e6) / perS : NaN;
}

/** The report as an aligned text table (one row per result, baseline figures in brackets). */
export function formatReport(report: BenchReport): string {
  const header = ['benchmark', 'client', 'throughput', 'vs base', 'p50 / p99 / max ms', 'router CPU', 'CPU µs/msg', 'client CPU', 'router RSS', 'load'];
  const rows = report.results.map((r) => {
    const b = r.baseline;
    const ratio = b?.throughput ? `${(r.throughput / b.throughput).toFixed(2)}x` : '';
    return [
      r.benchmark,
      r.client,
      `${int(r.throughput)} ${r.throughputUnit}`,
      ratio,
      `${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p99)} / ${ms(r.latencyMs.max)}`,
      b?.routerCpuPct !== undefined ? `${pct(r.routerCpuPct)} (${pct(b.routerCpuPct)})` : pct(r.routerCpuPct),
      b?.routerCpuPct !== undefined && b.throughput ? `${us(cpuPerMessageUs(r.routerCpuPct, r.throughput))} (${us(cpuPerMessageUs(b.routerCpuPct, b.throughput))})` : us(cpuPerMessageUs(r.routerCpuPct, r.throughput)),
      pct(r.clientCpuPct),
      b?.routerRssMb !== undefined ? `${mb(r.routerRssMb)} (${mb(b.routerRssMb)})` : mb(r.routerRssMb),
      r.loadAvg1m.toFixed(2),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [`== ${report.name}${report.quick ? ' (quick)' : ''}  ${report.startedAt}  ${report.host.cpus} CPUs, node ${report.host.node}`];
  out.push(line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line));
  const baselines = report.results.filter((r) => r.baseline).map((r) => `${r.benchmark}: ${r.baseline!.label}`);
  if (baselines.length) out.push('', 'baselines (in brackets; "vs base" = throughput ratio):', ...new Set(baselines.map((b) => `  ${b}`)));
  const extras = report.results.filter((r) => Object.keys(r.extra).length);
  if (extras.length) {
    out.push('', 'CPU µs/msg: router CPU time per call or delivered event (brackets: baseline)', '', 'details:');
    for (const r of extras) out.push(`  ${r.benchmark} [${r.client}]: ${Object.entries(r.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(3) : v}`).join(' ')}`);
  }
  if (report.failures.length) {
    out.push('', 'FAILED:');
    for (const f of report.failures) out.push(`  ${f.benchmark} [${f.client}]: ${f.error}`);
  }
  return out.join('\n');
}

/** A result of runs against a cluster of HostManagers: the window's router usage and the runs' latency. */
export function hostManagersResult(
  benchmark: string,
  run: { startedAtMs: number; runs: number; unit: string; latencyMs: LatencySummary; used: UsageSummary; load: number },
  extra: BenchResult['extra'],
): BenchResult {
  return {
    benchmark,
    client: 'host-managers',
    durationS: (performance.now() - run.startedAtMs) / 1000,
    throughput: run.runs,
    throughputUnit: run.unit,
    latencyMs: run.latencyMs,
    routerCpuPct: run.used.routerCpuPct,
    clientCpuPct: run.used.clientCpuPct,
    routerRssMb: run.used.routerRssPeakMb,
    loadAvg1m: run.load,
    extra,
  };
}

/** The median of a list (NaN when empty). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}
