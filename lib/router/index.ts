/**
 * The embedded WAMP v2 router: `startRouter(options) → { url, httpUrl, close() }`.
 *
 * One http.Server carries the WebSocket endpoint (`/ws`, subprotocols wamp.2.json,
 * wamp.2.msgpack and their batched variants), the HTTP caller bridge (`/call`), the HTTP
 * publisher (`/publish`), the node-info page (`/info`), metrics (`/metrics`) and the web
 * console (`/console/`), all behind the Host and Origin rules
 * of web-guard.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { createMetricsRegistry, writeMetrics } from '../metrics/metrics-server.js';
import { callLatencyText, registerRouterMetrics, type RouterCounters } from './router-metrics.js';
import type { AddressInfo, Socket } from 'node:net';
import { silentLogger, type Logger } from '../log.js';
import type { RouterConfig, RouterConfigInput } from './config.js';
import { DEFAULT_REALM, defaultRouterConfig, isValidated } from './config-defaults.js';
import { HttpCallBridge } from './http-bridge.js';
import { refuse, type HttpEndpointOptions, type HttpPrincipal } from './http-endpoint.js';
import { HttpInfo } from './http-info.js';
import { ConsoleAssets } from './console-assets.js';
import { HttpPublisher } from './http-publisher.js';
import { Router } from './router.js';
import { createWebSocketTransport, rejectUpgrade } from './transport.js';
import { WebGuard } from './web-guard.js';

export interface StartRouterOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 8001; 0 picks a free port */
  port?: number;
  /** a validated config or an input to validate (every part optional); default: defaultRouterConfig(realm) */
  config?: RouterConfig | RouterConfigInput;
  /** the realm created when the config declares none; default test_realm */
  realm?: string;
  logger?: Logger;
  /** how long close() waits for clients to answer GOODBYE; default 1000 ms */
  shutdownGraceMs?: number;
}

export interface RunningRouter {
  /** `ws://HOST:PORT/ws` */
  readonly url: string;
  /** `http://HOST:PORT/call` */
  readonly httpUrl: string;
  /** `http://HOST:PORT/console/`, or null when the console is off */
  readonly consoleUrl: string | null;
  readonly host: string;
  readonly port: number;
  readonly config: RouterConfig;
  /** the core, for introspection in tests */
  readonly router: Router;
  /** Closes every session with wamp.close.system_shutdown, then the server. Idempotent. */
  close(): Promise<void>;
}

/**
 * The options of an HTTP service (/call, /publish): its realm, and the role of requests without
 * credentials: the one the config names, else the anonymous role where anonymous access is
 * configured, else none (403). Ticket principals of the realm may send HTTP Basic credentials and
 * run under their own role.
 */
function endpointOptions(config: RouterConfig, service: 'http_bridge' | 'http_publisher', guard: WebGuard, logger: Logger): HttpEndpointOptions {
  const section = config[service];
  const realmName = section.realm ?? config.realms[0]!.name;
  const realm = config.realms.find((r) => r.name === realmName)!;
  const anonymousRole = config.auth.anonymous?.role;
  const role = section.role ?? (anonymousRole !== undefined && realm.roles.some((r) => r.name === anonymousRole) ? anonymousRole : undefined);
  const principals = new Map<string, HttpPrincipal>();
  for (const [authid, p] of Object.entries(config.auth.ticket?.principals ?? {})) {
    if ((p.realm === undefined || p.realm === realmName) && realm.roles.some((r) => r.name === p.role)) principals.set(authid, { ticket: p.ticket, role: p.role });
  }
  const path = service === 'http_bridge' ? '/call' : '/publish';
  const name = service === 'http_bridge' ? 'http bridge' : 'http publisher';
  if (role !== undefined) logger.info({ realm: realmName, role, principals: principals.size, path }, `${name}: requests without credentials run as role '${role}'`);
  else logger.info({ realm: realmName, principals: principals.size, path }, `${name}: requests need credentials (no ${service}.role and no anonymous access)`);
  return { realm: realmName, role, authid: section.authid, roleSetting: `${service}.role`, principals, limits: config.limits, guard, logger };
}

function createPublisher(router: Router, config: RouterConfig, guard: WebGuard, logger: Logger): HttpPublisher {
  const p = config.http_publisher;
  const signing = p.key !== undefined && p.secret !== undefined ? { key: p.key, secret: p.secret, timestampDeltaLimitS: p.timestamp_delta_limit } : undefined;
  return new HttpPublisher(router, endpointOptions(config, 'http_publisher', guard, logger), signing);
}

/** At most `max` HTTP connections at once that are not WebSocket sessions; the rest are closed at once. */
function limitHttpConnections(server: Server, max: number, logger: Logger, onRefused: () => void): void {
  const open = new Set<Socket>();
  let lastWarnMs = 0;
  server.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      onRefused();
      const now = Date.now();
      if (now - lastWarnMs > 10_000) {
        lastWarnMs = now;
        logger.warn({ max, peer: socket.remoteAddress }, 'refused an HTTP connection: too many open (limits.http_max_connections)');
      }
      socket.destroy();
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  // a WebSocket session no longer counts as an HTTP connection
  server.on('upgrade', (req: IncomingMessage) => open.delete(req.socket));
}

function routerMetricsRegistry(router: Router): Registry {
  // figures read at scrape only: nothing samples between scrapes on the router
  const registry = createMetricsRegistry('ocs_router_', false);
  registerRouterMetrics(registry, router, router.counters);
  return registry;
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

/** GET /metrics in the Prometheus text format, to loopback clients unless `remote`. */
function serveMetrics(registry: Registry, counters: RouterCounters, remote: boolean, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain; charset=utf-8' });
    res.end('GET /metrics\n');
    return;
  }
  if (!remote && !isLoopback(req.socket.remoteAddress)) {
    refuse(res, 403, 'metrics are served to this machine only (metrics.remote: true in the router config serves them to others)');
    return;
  }
  writeMetrics(registry, res, logger, () => callLatencyText(counters));
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startRouter(options: StartRouterOptions = {}): Promise<RunningRouter> {
  const host = options.host ?? '127.0.0.1';
  const logger = (options.logger ?? silentLogger()).child({ component: 'router' });
  const realmName = options.realm ?? DEFAULT_REALM;
  // the validator (zod, yaml) is loaded only for a config to check
  const given = options.config;
  const config =
    given === undefined ? defaultRouterConfig(realmName) : isValidated(given) ? given : (await import('./config.js')).parseRouterConfig(given, 'router config', realmName);
  const router = new Router(config, logger);

  const guard = new WebGuard({ allowedOrigins: config.http_bridge.allowed_origins, allowedHosts: config.http_bridge.allowed_hosts, boundHost: host });
  const bridge = config.http_bridge.enabled ? new HttpCallBridge(router, endpointOptions(config, 'http_bridge', guard, logger)) : undefined;
  const publisher = config.http_publisher.enabled ? createPublisher(router, config, guard, logger) : undefined;
  const info = config.http_info.enabled ? new HttpInfo(router) : undefined;
  const consoleAssets = config.console.enabled ? new ConsoleAssets(config) : undefined;
  const metrics = config.metrics.enabled ? routerMetricsRegistry(router) : undefined;

  const server: Server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const refusal = guard.check(req.headers.host, req.headers.origin);
    if (refusal !== undefined) {
      router.counters.httpRefused++;
      logger.warn({ path, origin: req.headers.origin, host: req.headers.host, peer: req.socket.remoteAddress }, `refused: ${refusal.reason}`);
      refuse(res, refusal.status, refusal.reason);
      return;
    }
    const service = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    if (service === '/call' && bridge !== undefined) return bridge.handle(req, res);
    if (service === '/publish' && publisher !== undefined) return publisher.handle(req, res);
    if (service === '/info' && info !== undefined) return info.handle(req, res);
    if (service === '/metrics' && metrics !== undefined) return serveMetrics(metrics, router.counters, config.metrics.remote, req, res, logger);
    if (consoleAssets !== undefined && (path === '/console' || path.startsWith('/console/'))) return consoleAssets.handle(req, res, path);
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`not found: ${path} (WAMP WebSocket at /ws, HTTP caller at /call, HTTP publisher at /publish, node info at /info, metrics at /metrics, console at /console/)\n`);
  });
  server.keepAliveTimeout = 30_000;
  // headers and body must arrive within the limit (slow senders hold no socket for long);
  // the time a /call waits for its answer is not counted
  server.headersTimeout = config.limits.http_request_timeout_ms;
  server.requestTimeout = config.limits.http_request_timeout_ms;
  limitHttpConnections(server, config.limits.http_max_connections, logger, () => router.counters.httpRefused++);
  const transport = createWebSocketTransport(router, config, logger);
  server.on('upgrade', (req, socket, head) => {
    const refusal = guard.check(req.headers.host, req.headers.origin);
    if (refusal !== undefined) {
      router.counters.httpRefused++;
      logger.warn({ path: req.url, origin: req.headers.origin, host: req.headers.host, peer: req.socket.remoteAddress }, `refused: ${refusal.reason}`);
      rejectUpgrade(socket, 403, 'Forbidden', `${refusal.reason}\n`);
      return;
    }
    transport.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(options.port ?? 8001, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'http server error'));
  const port = (server.address() as AddressInfo).port;
  const url = `ws://${urlHost(host)}:${port}/ws`;
  const httpUrl = `http://${urlHost(host)}:${port}/call`;
  const consoleUrl = consoleAssets !== undefined ? `http://${urlHost(host)}:${port}/console/` : null;
  if (consoleAssets !== undefined && !consoleAssets.isBuilt) logger.warn('the console is not built (npm run build); /console/ answers 503');
  logger.info({ url, httpUrl, consoleUrl, realms: config.realms.map((r) => r.name) }, 'router listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info({ url }, 'router shutting down');
      bridge?.close();
      publisher?.close();
      await router.shutdown(options.shutdownGraceMs ?? 1000);
      transport.terminateAll();
      await transport.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      logger.info({ url }, 'router stopped');
    })();
    return closing;
  };

  return { url, httpUrl, consoleUrl, host, port, config, router, close };
}

// parseRouterConfig, loadRouterConfig and DEFAULT_ROUTER_CONFIG are in ./config.js (zod and yaml, loaded on demand)
export { DEFAULT_REALM, defaultRouterConfig, defaultRouterConfigInput } from './config-defaults.js';
export type { RouterConfig, RouterConfigInput } from './config.js';
export { deriveCraKey, signCraChallenge } from './auth.js';
export { Router, ROUTER_ROLES } from './router.js';
