/**
 * An agent's `/metrics` endpoint (`--metrics-port`, `--metrics-host`): a registry with the
 * process's default metrics under `prefix`, the agent's own registered by `register`, served
 * until the agent stops. A port already taken is logged and the agent runs on without metrics.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { createMetricsRegistry, startMetricsServer, type MetricsServer } from './metrics-server.js';

export async function serveAgentMetrics(options: { prefix: string; port: number | undefined; host: string; logger: Logger; register: (registry: Registry) => void }): Promise<MetricsServer | undefined> {
  if (options.port === undefined) return undefined;
  const registry = createMetricsRegistry(options.prefix);
  options.register(registry);
  try {
    return await startMetricsServer(registry, { host: options.host, port: options.port, logger: options.logger });
  } catch (err) {
    options.logger.error({ err, host: options.host, port: options.port }, `cannot serve metrics on ${options.host}:${options.port}; running without them`);
    return undefined;
  }
}
