/**
 * The router's use of ws's private internals (lib/router/ws-internals.ts): this test fails when
 * the installed ws is not the pinned release, or when its internals no longer have the shape the
 * router relies on; and the router must carry calls, events, large and pipelined messages the
 * same through ws's public API (`ws_internals: off`, also the fallback when the internals differ).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionInternals, wsInternalsVerdict, WS_VERSION_TESTED } from '../../../lib/router/ws-internals.js';
import type { AutobahnSerializer } from '../../../lib/wamp/autobahn.js';
import { autobahnSerializers, openTestSession, startTestRouter, type TestRouter } from '../../helpers/router.js';
import { projectRoot } from '../../helpers/project-root.js';
import { waitFor } from '../../helpers/wait.js';

const require = createRequire(import.meta.url);
const wsModule = require('ws') as typeof import('ws');

describe('ws internals the router relies on', () => {
  it('ws is pinned to the exact release the internals were read from, and that release is installed', () => {
    const pkg = JSON.parse(readFileSync(`${projectRoot()}/package.json`, 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['ws']).toBe(WS_VERSION_TESTED);
    expect((require('ws/package.json') as { version: string }).version).toBe(WS_VERSION_TESTED);
    expect(wsInternalsVerdict()).toEqual({ ok: true, version: WS_VERSION_TESTED });
  });

  it("a live connection has the socket, sender and receiver fields the fast paths use, with ws's idle values", async () => {
    const server = new wsModule.WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const accepted = new Promise<import('ws').WebSocket>((resolve) => server.once('connection', (ws) => resolve(ws)));
    const client = new wsModule.WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('open', () => resolve());
        client.once('error', reject);
      });
      const ws = await accepted;
      const internals = connectionInternals(ws);
      expect(internals).not.toBeNull();
      const r = internals!.receiver;
      expect([r._state, r._bufferedBytes, r._fragmented, r._errored]).toEqual([0, 0, 0, false]);
      expect(r._maxPayload).toBe(100 * 1024 * 1024); // ws's default, as passed
      // a frame the fast path does not take (a ping) leaves the receiver idle again
      await new Promise<void>((resolve) => {
        ws.once('ping', () => resolve());
        client.ping();
      });
      expect([r._state, r._bufferedBytes]).toEqual([0, 0]);
      // an object without them is refused, not guessed at
      expect(connectionInternals({} as never)).toBeNull();
    } finally {
      client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

const SERIALIZERS = Object.entries(autobahnSerializers()) as [string, AutobahnSerializer][];

describe.each(SERIALIZERS)("the router through ws's public API only, autobahn-js %s", (_name, serializer) => {
  let router: TestRouter;
  beforeAll(async () => {
    router = await startTestRouter({ ws_internals: 'off' });
  });
  afterAll(() => router?.close());

  it('routes calls, pipelined calls, large results and events', async () => {
    const callee = await openTestSession(router, { serializers: [serializer] });
    const caller = await openTestSession(router, { serializers: [serializer] });
    await callee.register('com.test.echo', (args) => args?.[0]);
    expect(await caller.call('com.test.echo', ['hello'])).toBe('hello');
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => caller.call('com.test.echo', [i])));
    expect(many).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const big = 'x'.repeat(300_000);
    expect(await caller.call('com.test.echo', [big])).toBe(big);
    const got: unknown[] = [];
    await callee.subscribe('com.test.topic', (args) => void got.push(args?.[0]));
    for (let i = 0; i < 50; i++) await caller.publish('com.test.topic', [i], {}, { acknowledge: true });
    await waitFor(() => got.length === 50, { what: 'the 50 events' });
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
