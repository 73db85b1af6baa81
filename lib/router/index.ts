/**
 * The embedded WAMP v2 router: `startRouter(options) → { url, httpUrl, close() }`.
 *
 * One http.Server carries the WebSocket endpoint (`/ws`, subprotocols wamp.2.json,
 * wamp.2.msgpack and their batched variants) and the HTTP caller bridge (`/call`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../log.js';
import type { RouterConfig, RouterConfigInput } from './config.js';
import { DEFAULT_REALM, defaultRouterConfig, isValidated } from './config-defaults.js';
import { HttpCallBridge } from './http-bridge.js';
import { Router } from './router.js';
import { createWebSocketTransport } from './transport.js';

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
  readonly host: string;
  readonly port: number;
  readonly config: RouterConfig;
  /** the core, for introspection in tests */
  readonly router: Router;
  /** Closes every session with wamp.close.system_shutdown, then the server. Idempotent. */
  close(): Promise<void>;
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

  let bridge: HttpCallBridge | undefined;
  if (config.http_bridge.enabled) {
    const realmName = config.http_bridge.realm ?? config.realms[0]!.name;
    const realm = config.realms.find((r) => r.name === realmName)!;
    const anonymousRole = config.auth.anonymous?.role;
    const role = config.http_bridge.role ?? (anonymousRole !== undefined && realm.roles.some((r) => r.name === anonymousRole) ? anonymousRole : realm.roles[0]?.name);
    if (role === undefined) logger.warn({ realm: realmName }, 'http bridge disabled: the realm has no roles');
    else bridge = new HttpCallBridge(router, realmName, role, config.http_bridge.authid, config.limits, logger);
  }

  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    if ((path === '/call' || path === '/call/') && bridge !== undefined) {
      bridge.handle(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`not found: ${path} (WAMP WebSocket at /ws, HTTP caller at /call)\n`);
  });
  server.keepAliveTimeout = 30_000;
  // /call requests may wait for minutes (an OCS `wait` without timeout): no request deadline
  server.requestTimeout = 0;
  const transport = createWebSocketTransport(router, config, logger);
  server.on('upgrade', (req, socket, head) => transport.handleUpgrade(req, socket, head));
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
  logger.info({ url, httpUrl, realms: config.realms.map((r) => r.name) }, 'router listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info({ url }, 'router shutting down');
      bridge?.close();
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

  return { url, httpUrl, host, port, config, router, close };
}

// parseRouterConfig, loadRouterConfig and DEFAULT_ROUTER_CONFIG are in ./config.js (zod and yaml, loaded on demand)
export { DEFAULT_REALM, defaultRouterConfig, defaultRouterConfigInput } from './config-defaults.js';
export type { RouterConfig, RouterConfigInput } from './config.js';
export { deriveCraKey, signCraChallenge } from './auth.js';
export { Router, ROUTER_ROLES } from './router.js';
