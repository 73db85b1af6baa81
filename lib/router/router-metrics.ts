/**
 * The router's health figures. The message path only bumps plain numbers (`RouterCounters`:
 * typed-array slots by message type, a few fields); prom-client reads them when Prometheus
 * scrapes (`collect`), so counting costs the router next to nothing. Call latency, from CALL to
 * the callee's answer, is counted into plain buckets too and written at scrape in the histogram
 * format (`callLatencyText`): prom-client's `observe` cost a sequential RPC about 3 % of the
 * router's instructions (`npm run bench -- metrics-cost`), and its Histogram cannot be given
 * counts made elsewhere.
 */
import type { Registry } from 'prom-client';
import { counterReadAtScrape, promClient } from '../metrics/metrics-server.js';
import { MSG } from './messages.js';
import type { Router } from './router.js';

const TYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(MSG).map(([name, code]) => [code, name.toLowerCase()]));

export const CALL_LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class RouterCounters {
  /** messages received, by WAMP message type */
  readonly messagesIn = new Float64Array(128);
  /** messages sent, by WAMP message type */
  readonly messagesOut = new Float64Array(128);
  bytesIn = 0;
  bytesOut = 0;
  slowConsumersDropped = 0;
  authFailures = 0;
  /** HTTP requests and upgrades refused by the Host/Origin rules or the connection cap */
  httpRefused = 0;
  /** set by registerRouterMetrics; off: latency is not recorded */
  isTimingCalls = false;
  /** calls answered by latency bucket (CALL_LATENCY_BUCKETS_S, then +Inf), not cumulative */
  readonly callLatencyBuckets = new Float64Array(CALL_LATENCY_BUCKETS_S.length + 1);
  callLatencySumS = 0;
  callLatencyCount = 0;

  observeCall(seconds: number): void {
    if (!this.isTimingCalls) return;
    let i = 0;
    while (i < CALL_LATENCY_BUCKETS_S.length && seconds > CALL_LATENCY_BUCKETS_S[i]!) i++;
    this.callLatencyBuckets[i]!++;
    this.callLatencySumS += seconds;
    this.callLatencyCount++;
  }

  countIn(type: number): void {
    this.messagesIn[type & 127]++;
  }

  countOut(type: number): void {
    this.messagesOut[type & 127]++;
  }
}

/** Registers the router's metrics (names `ocs_router_*`) in `registry`, read from `router` and `counters` at scrape. */
export function registerRouterMetrics(registry: Registry, router: Router, counters: RouterCounters): void {
  const registers = [registry];
  new promClient.Gauge({
    name: 'ocs_router_sessions',
    help: 'WAMP sessions joined, by realm (the router’s own sessions not counted)',
    labelNames: ['realm'],
    registers,
    collect() {
      for (const realm of router.realms.values()) {
        let n = 0;
        for (const s of realm.sessions.values()) if (!s.isInternal) n++;
        this.set({ realm: realm.name }, n);
      }
    },
  });
  const messages = new promClient.Counter({
    name: 'ocs_router_messages_total',
    help: 'WAMP messages received (direction="in") and sent (direction="out"), by message type',
    labelNames: ['type', 'direction'],
    registers,
    collect() {
      messages.reset();
      for (const [direction, counts] of [
        ['in', counters.messagesIn],
        ['out', counters.messagesOut],
      ] as const) {
        for (const [code, name] of TYPE_NAMES) if (counts[code]! > 0) messages.inc({ type: name, direction }, counts[code]!);
      }
    },
  });
  const bytes = new promClient.Counter({
    name: 'ocs_router_bytes_total',
    help: 'WebSocket payload bytes received (in) and written (out, frame headers included)',
    labelNames: ['direction'],
    registers,
    collect() {
      bytes.reset();
      bytes.inc({ direction: 'in' }, counters.bytesIn);
      bytes.inc({ direction: 'out' }, counters.bytesOut);
    },
  });
  const plain = (name: string, help: string, read: () => number): void => counterReadAtScrape(registry, name, help, read);
  plain('ocs_router_events_published_total', 'PUBLISH messages received (the router’s own meta events and /publish included)', () => counters.messagesIn[MSG.PUBLISH]!);
  plain('ocs_router_events_delivered_total', 'EVENT messages sent to subscribers', () => counters.messagesOut[MSG.EVENT]!);
  plain('ocs_router_slow_consumers_dropped_total', 'connections dropped because they did not read their messages', () => counters.slowConsumersDropped);
  plain('ocs_router_auth_failures_total', 'HELLO or AUTHENTICATE refused (unknown principal, wrong ticket or signature, no method)', () => counters.authFailures);
  plain('ocs_router_http_refused_total', 'HTTP requests and upgrades refused by the Host/Origin rules or the connection cap', () => counters.httpRefused);
  new promClient.Gauge({
    name: 'ocs_router_calls_in_flight',
    help: 'calls routed to a callee and not yet answered',
    registers,
    collect() {
      let n = 0;
      for (const realm of router.realms.values()) for (const s of realm.sessions.values()) n += s.pendingInvocationCount;
      this.set(n);
    },
  });
  const uris = (name: string, help: string, read: (realm: import('./realm.js').Realm) => number): void => {
    new promClient.Gauge({
      name,
      help,
      labelNames: ['realm'],
      registers,
      collect() {
        for (const realm of router.realms.values()) this.set({ realm: realm.name }, read(realm));
      },
    });
  };
  uris('ocs_router_subscriptions', 'subscriptions (distinct topic and match), by realm', (r) => r.broker.index.size);
  uris('ocs_router_registrations', 'registered procedures, by realm', (r) => r.dealer.index.size);
  counters.isTimingCalls = true;
}

export const CALL_LATENCY_METRIC = 'ocs_router_call_duration_seconds';

/** The call latency histogram in the Prometheus text format (cumulative buckets, sum, count). */
export function callLatencyText(counters: RouterCounters): string {
  const name = CALL_LATENCY_METRIC;
  const lines = [`# HELP ${name} time from a CALL to the callee’s answer (YIELD or ERROR), as the router sees it`, `# TYPE ${name} histogram`];
  let cumulative = 0;
  CALL_LATENCY_BUCKETS_S.forEach((le, i) => {
    cumulative += counters.callLatencyBuckets[i]!;
    lines.push(`${name}_bucket{le="${le}"} ${cumulative}`);
  });
  lines.push(`${name}_bucket{le="+Inf"} ${counters.callLatencyCount}`, `${name}_sum ${counters.callLatencySumS}`, `${name}_count ${counters.callLatencyCount}`);
  return `${lines.join('\n')}\n`;
}
