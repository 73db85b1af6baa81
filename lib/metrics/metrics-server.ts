/**
 * The Prometheus side of every process: one prom-client Registry per process part, and an HTTP
 * endpoint `/metrics` in the text format for an agent (`--metrics-port`), bound to loopback
 * unless told otherwise. The router serves `/metrics` on its own HTTP port instead.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
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
  const cpu: import('prom-client').Counter = new promClient.Counter({
    name: `${prefix}process_cpu_seconds_total`,
    help: 'user and system CPU time of this process, in seconds',
    registers,
    collect() {
      const u = process.cpuUsage();
      cpu.reset();
      cpu.inc((u.user + u.system) / 1e6);
    },
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

/** Answers GET /metrics from `registry`; anything else 404. */
export async function metricsResponse(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
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
    metricsResponse(registry).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      },
      (err: unknown) => {
        options.logger.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('metrics collection failed\n');
      },
    );
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
