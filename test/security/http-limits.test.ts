/**
 * Threats: slowloris (hundreds of sockets trickling headers or a body hold the HTTP server's
 * sockets forever), a flood of idle HTTP connections, and one batched WebSocket frame carrying
 * hundreds of thousands of messages that stalls every other client.
 */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startRouter } from '../../lib/router/index.js';
import { WampConnection } from '../../lib/wamp/connection.js';
import { registerCleanup } from '../helpers/router.js';
import { waitFor } from '../helpers/wait.js';
import { RawSession } from '../integration/router/raw-session.js';
import { rawHttp } from './web-helpers.js';

interface Trickler {
  socket: Socket;
  closedByServer: boolean;
}

/** Opens `n` sockets that send `head` and then one byte of `drip` every 500 ms, until the server closes them. */
async function trickle(port: number, n: number, head: string, drip: string): Promise<Trickler[]> {
  const out: Trickler[] = [];
  for (let i = 0; i < n; i++) {
    const socket = connect({ host: '127.0.0.1', port });
    const t: Trickler = { socket, closedByServer: false };
    socket.on('error', () => {});
    socket.on('close', () => {
      t.closedByServer = true;
      clearInterval(timer);
    });
    socket.on('data', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(head);
    let k = 0;
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip[k++ % drip.length]!);
    }, 500);
    registerCleanup(() => {
      clearInterval(timer);
      socket.destroy();
    });
    out.push(t);
  }
  return out;
}

async function routerWithCallee(config = {}) {
  const router = await startRouter({ host: '127.0.0.1', port: 0, config });
  registerCleanup(() => router.close());
  const conn = new WampConnection({ url: router.url, realm: 'test_realm' });
  registerCleanup(() => conn.close());
  const session = await conn.open();
  await session.register('svc.echo', (args) => args?.[0]);
  return router;
}

const callEcho = (url: string) => rawHttp(url, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ procedure: 'svc.echo', args: [7] }) });

describe('HTTP server limits', () => {
  it('cuts 300 sockets trickling headers within the default 10 s request limit, serving others meanwhile', async () => {
    const router = await routerWithCallee();
    const t0 = Date.now();
    const sockets = await trickle(router.port, 300, 'POST /call HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 'abcdefgh');
    expect((await callEcho(router.httpUrl)).json()).toEqual({ args: [7] });
    await waitFor(() => sockets.every((s) => s.closedByServer), { timeoutMs: 25_000, intervalMs: 200 });
    // cut by the limit, not before: at least most of the 10 s passed
    expect(Date.now() - t0).toBeGreaterThanOrEqual(9_000);
    expect((await callEcho(router.httpUrl)).json()).toEqual({ args: [7] });
  }, 40_000);

  it('cuts 300 sockets trickling a body within the request limit', async () => {
    const router = await routerWithCallee({ limits: { http_request_timeout_ms: 3000 } });
    const head = 'POST /call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"procedure":"svc.echo","args":["';
    const sockets = await trickle(router.port, 300, head, 'xyz');
    await waitFor(() => sockets.every((s) => s.closedByServer), { timeoutMs: 20_000, intervalMs: 200 });
    expect((await callEcho(router.httpUrl)).json()).toEqual({ args: [7] });
  }, 40_000);

  it('answers a /call that waits longer than the request limit (the limit is for receiving the request)', async () => {
    const router = await startRouter({ host: '127.0.0.1', port: 0, config: { limits: { http_request_timeout_ms: 1000 } } });
    registerCleanup(() => router.close());
    const conn = new WampConnection({ url: router.url, realm: 'test_realm' });
    registerCleanup(() => conn.close());
    const session = await conn.open();
    await session.register('svc.slow', () => new Promise((resolve) => setTimeout(() => resolve('late'), 2500)));
    const res = await rawHttp(router.httpUrl, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ procedure: 'svc.slow' }) });
    expect(res.json()).toEqual({ args: ['late'] });
  });

  it('caps concurrent HTTP connections, and WebSocket sessions do not count against the cap', async () => {
    const router = await routerWithCallee({ limits: { http_max_connections: 20 } });
    // 30 WebSocket sessions first: they are sessions, not HTTP connections
    const sessions = await Promise.all(Array.from({ length: 30 }, () => RawSession.join(router.url, 'test_realm')));
    expect(sessions.every((s) => s.sessionId > 0)).toBe(true);
    const idle = await trickle(router.port, 40, '', ' ');
    await waitFor(() => idle.filter((s) => s.closedByServer).length >= 20, { timeoutMs: 5000 });
    // exactly the cap stays open (until the request limit cuts those too)
    expect(idle.filter((s) => !s.closedByServer).length).toBe(20);
    for (const s of idle) s.socket.destroy();
    await waitFor(async () => (await callEcho(router.httpUrl).catch(() => undefined))?.status === 200, { timeoutMs: 5000 });
  });

  it('aborts a session sending a batched frame of 200,000 CALLs, naming the limit; other clients go on', async () => {
    const router = await routerWithCallee();
    const other = await RawSession.join(router.url, 'test_realm');
    const attacker = await RawSession.join(router.url, 'test_realm', 'wamp.2.json.batched');
    const frame = Array.from({ length: 200_000 }, (_, i) => `[48,${i + 100},{},"svc.echo",[${i}]]`).join('\u001e') + '\u001e';
    expect(frame.length).toBeGreaterThan(6_000_000);
    attacker.ws.send(frame);
    const abort = await attacker.next((m) => m[0] === 3);
    expect(abort[2]).toBe('wamp.error.protocol_violation');
    expect(JSON.stringify(abort[1])).toContain('a batched frame may carry at most 1000 messages');
    await attacker.closed;
    other.send([48, 1, {}, 'svc.echo', ['still here']]);
    expect(await other.next((m) => m[0] === 50)).toEqual([50, 1, {}, ['still here']]);
    // a batch within the limit is served whole
    const fine = await RawSession.join(router.url, 'test_realm', 'wamp.2.json.batched');
    fine.ws.send(Array.from({ length: 1000 }, (_, i) => `[48,${i + 1},{},"svc.echo",[${i}]]`).join('\u001e'));
    await waitFor(() => fine.received.filter((m) => m[0] === 50).length === 1000, { timeoutMs: 10_000 });
  });
});
