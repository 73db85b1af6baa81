import { afterAll, onTestFinished } from 'vitest';
import { DEFAULT_REALM, startRouter, type RouterConfigInput } from '../../lib/router/index.js';
import { autobahn, type AutobahnSerializer, type AutobahnSession } from '../../lib/wamp/autobahn.js';
import { WampConnection, type WampAuth } from '../../lib/wamp/connection.js';
import { spawnRouterProcess } from './router-process.js';

export interface TestRouter {
  /** `ws://127.0.0.1:PORT/ws` */
  url: string;
  /** `http://127.0.0.1:PORT/call` */
  httpUrl: string;
  /** the realm tests join (the first one of the config) */
  realm: string;
  /** true when the suite runs against an external router (OCS_TEST_ROUTER_URL) */
  isExternal: boolean;
  close(): Promise<void>;
}

/** Cleanups registered outside a test (from beforeAll): run, last first, after the file's tests. */
const fileCleanups: (() => Promise<void> | void)[] = [];
try {
  // this module is evaluated once per test file (vitest isolates files), during collection
  afterAll(async () => {
    while (fileCleanups.length > 0) await fileCleanups.pop()!();
  });
} catch {
  // imported outside vitest: callers clean up themselves
}

/** Registers `fn` to run when the current test ends, or after the file when called outside a test (beforeAll). */
export function registerCleanup(fn: () => Promise<void> | void): void {
  try {
    onTestFinished(async () => {
      await fn();
    });
  } catch {
    fileCleanups.push(fn);
  }
}

/**
 * Starts the embedded router on 127.0.0.1, a free port, and registers its shutdown with the
 * current test (or the file, from beforeAll). With OCS_TEST_ROUTER_URL (and
 * OCS_TEST_ROUTER_HTTP, OCS_TEST_ROUTER_REALM) set and no `config`, returns that external router
 * instead, e.g. crossbar from docker compose. A `config` (auth, roles, limits, pings) is this
 * router's own configuration, so such tests always run on the embedded router.
 */
export async function startTestRouter(config?: RouterConfigInput): Promise<TestRouter> {
  const externalUrl = process.env['OCS_TEST_ROUTER_URL'];
  if (externalUrl && config === undefined) {
    const realm = process.env['OCS_TEST_ROUTER_REALM'] ?? 'test_realm';
    const httpUrl = process.env['OCS_TEST_ROUTER_HTTP'] ?? externalUrl.replace(/^ws/, 'http').replace(/\/ws$/, '/call');
    return { url: externalUrl, httpUrl, realm, isExternal: true, close: async () => {} };
  }
  const running = await startRouter({ host: '127.0.0.1', port: 0, config: config ?? {} });
  const router: TestRouter = {
    url: running.url,
    httpUrl: running.httpUrl,
    realm: running.config.realms[0]!.name,
    isExternal: false,
    close: () => running.close(),
  };
  registerCleanup(() => router.close());
  return router;
}

/**
 * Like startTestRouter without a config, but the router runs as `ocs router` in a process of its
 * own (spawnRouterProcess), as deployed, so its event loop is not shared with the test's own work.
 * For tests whose timing is part of the contract.
 */
export async function startRouterProcess(): Promise<TestRouter> {
  if (process.env['OCS_TEST_ROUTER_URL']) return startTestRouter();
  const running = await spawnRouterProcess();
  const router: TestRouter = {
    url: running.url,
    httpUrl: running.url.replace(/^ws/, 'http').replace(/\/ws$/, '/call'),
    realm: DEFAULT_REALM,
    isExternal: false,
    close: () => running.stop(),
  };
  registerCleanup(() => router.close());
  return router;
}

export interface OpenTestSessionOptions {
  realm?: string;
  auth?: WampAuth;
  serializers?: AutobahnSerializer[];
}

/** Joins `router` with autobahn-js and registers the session's close with the current test (or file). */
export async function openTestSession(router: Pick<TestRouter, 'url' | 'realm'>, options: OpenTestSessionOptions = {}): Promise<AutobahnSession> {
  const connection = new WampConnection({ url: router.url, realm: options.realm ?? router.realm, auth: options.auth, serializers: options.serializers });
  const session = await connection.open();
  registerCleanup(() => connection.close());
  return session;
}

/** autobahn-js's own serializers (msgpack5, JSON.stringify), for conformance runs over each. */
export function autobahnSerializers(): { json: AutobahnSerializer; msgpack: AutobahnSerializer } {
  const ser = (autobahn as unknown as { serializer: { JSONSerializer: new () => AutobahnSerializer; MsgpackSerializer: new () => AutobahnSerializer } }).serializer;
  return { json: new ser.JSONSerializer(), msgpack: new ser.MsgpackSerializer() };
}
