import { parseArgs } from 'node:util';
import type { CliContext } from './main.js';
import { parseErrorLine } from './parse-error.js';
import { ConfigError, EXIT_CONFIG } from '../errors.js';
import { histogramQuantile, parsePrometheusText, sumOf } from '../metrics/prometheus-text.js';
import { readEnv } from '../site-config/env.js';
import { resolveClientConfig, type ClientConfig } from '../site-config/resolve-client-config.js';

const USAGE = `usage: ocs top [--site-file FILE | --site NAME] [--site-host HOST] [--interval S] [--once] [--json]

The health of one host, from the same /metrics Prometheus scrapes: the router (its HTTP port,
from the site's wamp_http or wamp_server), and the registry and HostManager of the host whose
site-file arguments carry --metrics-port. Refreshes every --interval seconds (default 2);
--once prints one table (rates over one interval) and exits.`;

interface Endpoint {
  name: string;
  url: string;
}

/** The /metrics endpoints of a host: the router, and each agent instance with --metrics-port. */
export function metricsEndpoints(config: ClientConfig): Endpoint[] {
  const base = new URL(config.hub.wampHttp ?? config.hub.wampServer.replace(/^ws/, 'http'));
  const out: Endpoint[] = [{ name: 'router', url: `${base.protocol}//${base.host}/metrics` }];
  const host = config.host === null ? undefined : config.site?.hosts[config.host];
  for (const inst of host?.agentInstances ?? []) {
    const at = inst.arguments.indexOf('--metrics-port');
    if (at < 0 || inst.arguments[at + 1] === undefined) continue;
    const hostAt = inst.arguments.indexOf('--metrics-host');
    const h = hostAt >= 0 ? inst.arguments[hostAt + 1]! : '127.0.0.1';
    out.push({ name: inst.instanceId, url: `http://${h === '0.0.0.0' ? '127.0.0.1' : h}:${inst.arguments[at + 1]}/metrics` });
  }
  return out;
}

async function scrapeAll(endpoints: Endpoint[]): Promise<Map<string, Map<string, number> | string>> {
  const out = new Map<string, Map<string, number> | string>();
  await Promise.all(
    endpoints.map(async (e) => {
      try {
        const res = await fetch(e.url, { signal: AbortSignal.timeout(2000) });
        out.set(e.name, res.status === 200 ? parsePrometheusText(await res.text()) : `HTTP ${res.status}`);
      } catch (err) {
        out.set(e.name, `unreachable (${(err as Error).message})`);
      }
    }),
  );
  return out;
}

export interface TopRow {
  source: string;
  figure: string;
  value: string;
}

const fmt = (n: number, digits = 1) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));

/** The table rows from two scrapes `dtS` seconds apart. */
export function topRows(endpoints: Endpoint[], before: Map<string, Map<string, number> | string>, after: Map<string, Map<string, number> | string>, dtS: number): TopRow[] {
  const rows: TopRow[] = [];
  for (const e of endpoints) {
    const a = after.get(e.name);
    const b = before.get(e.name);
    if (a === undefined || typeof a === 'string') {
      rows.push({ source: e.name, figure: 'metrics', value: a ?? 'no answer' });
      continue;
    }
    const rate = (name: string, labels: Record<string, string> = {}) => (typeof b === 'string' || b === undefined ? 0 : (sumOf(a, name, labels) - sumOf(b, name, labels)) / dtS);
    const add = (figure: string, value: string) => rows.push({ source: e.name, figure, value });
    if (a.has('ocs_router_calls_in_flight')) {
      add('sessions', fmt(sumOf(a, 'ocs_router_sessions')));
      add('messages in/s', fmt(rate('ocs_router_messages_total', { direction: 'in' })));
      add('messages out/s', fmt(rate('ocs_router_messages_total', { direction: 'out' })));
      add('calls in flight', fmt(sumOf(a, 'ocs_router_calls_in_flight')));
      const p99 = histogramQuantile(a, 'ocs_router_call_duration_seconds', 0.99);
      add('call p99 (since start)', p99 === null ? '-' : `${fmt(p99 * 1000, 2)} ms`);
      add('slow consumers dropped', fmt(sumOf(a, 'ocs_router_slow_consumers_dropped_total')));
      add('auth failures', fmt(sumOf(a, 'ocs_router_auth_failures_total')));
    }
    if (a.has('ocs_registry_heartbeats_total')) {
      add('agents live / expired', `${fmt(sumOf(a, 'ocs_registry_agents', { status: 'live' }))} / ${fmt(sumOf(a, 'ocs_registry_agents', { status: 'expired' }))}`);
      add('heartbeats/s', fmt(rate('ocs_registry_heartbeats_total')));
      add('junk dropped', fmt(sumOf(a, 'ocs_registry_heartbeats_dropped_total')));
      add('expiries / restarts', `${fmt(sumOf(a, 'ocs_registry_expiries_total'))} / ${fmt(sumOf(a, 'ocs_registry_restarts_total'))}`);
    }
    if ([...a.keys()].some((k) => k.startsWith('ocs_hostmanager_children{'))) {
      const states = [...a.entries()].filter(([k, v]) => k.startsWith('ocs_hostmanager_children{') && v > 0).map(([k, v]) => `${/state="([^"]+)"/.exec(k)?.[1] ?? '?'} ${fmt(v)}`);
      add('children', states.length ? states.join(', ') : 'none');
      add('restarts', fmt(sumOf(a, 'ocs_hostmanager_restarts_total')));
      add('verbs', fmt(sumOf(a, 'ocs_hostmanager_verbs_total')));
    }
  }
  return rows;
}

function render(rows: TopRow[]): string {
  const w0 = Math.max(6, ...rows.map((r) => r.source.length));
  const w1 = Math.max(6, ...rows.map((r) => r.figure.length));
  return [`${'source'.padEnd(w0)}  ${'figure'.padEnd(w1)}  value`, ...rows.map((r) => `${r.source.padEnd(w0)}  ${r.figure.padEnd(w1)}  ${r.value}`)].join('\n');
}

export async function runTopCommand(argv: string[], _ctx: CliContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let config: ClientConfig;
  let values: Record<string, string | boolean | undefined>;
  try {
    config = resolveClientConfig({ argv, env: readEnv() });
    values = parseArgs({ args: [...config.rest], options: { interval: { type: 'string' }, once: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ocs top: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    process.stderr.write(`ocs top: ${parseErrorLine(err)}\n${USAGE}\n`);
    return 2;
  }
  if (values['help']) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const intervalS = values['interval'] === undefined ? 2 : Number(values['interval']);
  if (!Number.isFinite(intervalS) || intervalS <= 0) {
    process.stderr.write(`ocs top: --interval needs seconds > 0\n${USAGE}\n`);
    return 2;
  }
  const endpoints = metricsEndpoints(config);
  let stopped = false;
  process.once('SIGINT', () => (stopped = true));
  let before = await scrapeAll(endpoints);
  for (;;) {
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, intervalS * 1000));
    const after = await scrapeAll(endpoints);
    const rows = topRows(endpoints, before, after, (performance.now() - t0) / 1000);
    if (values['json']) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else process.stdout.write(`${values['once'] ? '' : '\x1b[H\x1b[2J'}${new Date().toISOString()}\n${render(rows)}\n`);
    if (values['once'] || stopped) return 0;
    before = after;
  }
}
