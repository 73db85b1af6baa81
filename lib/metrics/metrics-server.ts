/**
 * The Prometheus side of every process: one prom-client Registry per process part, and an HTTP
 * endpoint `/metrics` in the text format for an agent (`--metrics-port`), bound to loopback
 * unless told otherwise. The router serves `/metrics` on its own HTTP port instead.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Counter, Registry } from 'prom-client';
import type { Logger } from '../log.js';

// prom-client is CommonJS: loaded with require, as ws and pino are
export const promClient = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');

/**
 * A registry with process figures under `prefix`. `full`: prom-client's default metrics (event
 * loop lag, GC, handles, ...), which sample continuously; otherwise only what is read at scrape
 * (CPU seconds, resident memory, heap), which costs nothing between scrapes: the router's choice.
 */
export function createMetricsRegistry(prefix: string, full = true): Registry {
  const registry = new promClient.Registry();
  if (!full) {
    registerScrapeTimeProcessMetrics(registry, prefix);
    return registry;
  }
  promClient.collectDefaultMetrics({ register: registry, prefix });
  // prom-client names three gauges `*_active_*_total`, which Prometheus's lint (a `_total` gauge)
  // refuses; the same figures remain as `*_active_handles` and friends
  for (const what of ['handles', 'requests', 'resources']) {
    const name = `${prefix}nodejs_active_${what}_total`;
    if (registry.getSingleMetric(name) !== undefined) registry.removeSingleMetric(name);
  }
  return registry;
}

function registerScrapeTimeProcessMetrics(registry: Registry, prefix: string): void {
  const registers = [registry];
  counterReadAtScrape(registry, `${prefix}process_cpu_seconds_total`, 'user and system CPU time of this process, in seconds', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  new promClient.Gauge({
    name: `${prefix}process_resident_memory_bytes`,
    help: 'resident memory of this process, in bytes',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new promClient.Gauge({
    name: `${prefix}nodejs_heap_used_bytes`,
    help: 'V8 heap in use, in bytes',
    registers,
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new promClient.Gauge({
    name: `${prefix}process_start_time_seconds`,
    help: 'start time of this process, unix seconds',
    registers,
    collect() {
      this.set(Math.round(Date.now() / 1000 - process.uptime()));
    },
  });
}

export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Writes one scrape of `registry` as the response (500 with a log line when collecting fails). */
export function writeMetrics(registry: Registry, res: ServerResponse, logger: Logger, extraText?: () => string): void {
  registry.metrics().then(
    (body) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(extraText === undefined ? body : `${body}${extraText()}`);
    },
    (err: unknown) => {
      logger.error({ err }, 'collecting metrics failed');
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('metrics collection failed\n');
    },
  );
}

/** A counter whose value is read from `read()` at each scrape (the figure itself is counted elsewhere, as a plain number). */
export function counterReadAtScrape(registry: Registry, name: string, help: string, read: () => number): void {
  const c: Counter = new promClient.Counter({
    name,
    help,
    registers: [registry],
    collect() {
      c.reset();
      c.inc(read());
    },
  });
}

/** Serves `/metrics` on host:port (port 0 picks one). */
export async function startMetricsServer(registry: Registry, options: { host?: string; port: number; logger: Logger }): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('metrics at GET /metrics\n');
      return;
    }
    writeMetrics(registry, res, options.logger);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => options.logger.error({ err }, 'metrics server error'));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
  options.logger.info({ url }, 'metrics served');
  return {
    port,
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
