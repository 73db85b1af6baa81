import { beforeAll, describe, expect, it } from 'vitest';
import { createJsonSerializer, createMsgpackSerializer } from '../../../lib/wamp/serializers.js';
import { decodeMsgpack } from '../../../lib/wamp/msgpack-decoder.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import { openTestSession, startTestRouter, type TestRouter } from '../../helpers/router.js';
import { delay, waitFor } from '../../helpers/wait.js';
import { RawSession } from './raw-session.js';

const MAX_ID = 2 ** 53;

// max_message_bytes, batched serializers and pings are this router's configuration and features
describe('router wire rules', () => {
  let router: TestRouter;

  beforeAll(async () => {
    router = await startTestRouter({ max_message_bytes: 64 * 1024 });
  });

  it('relays a float published over JSON as 1.0 to JSON subscribers and float64 to msgpack ones', async () => {
    const jsonSub = await RawSession.join(router.url, router.realm, 'wamp.2.json');
    const msgpackSub = await RawSession.join(router.url, router.realm, 'wamp.2.msgpack');
    await jsonSub.subscribe('float.topic');
    await msgpackSub.subscribe('float.topic');
    const pub = await RawSession.join(router.url, router.realm, 'wamp.2.json');
    pub.sendText('[16,1,{"acknowledge":true},"float.topic",[1.0,2,2.5,{"t":1e3}]]');
    await pub.next((m) => m[0] === 17);
    await jsonSub.next((m) => m[0] === 36);
    await msgpackSub.next((m) => m[0] === 36);
    const text = jsonSub.frames.map((f) => f.data.toString('utf8')).find((t) => t.startsWith('[36,'))!;
    // JSON to JSON: the payload text goes out as it came in
    expect(text).toMatch(/,\[1\.0,2,2\.5,\{"t":1e3\}\]\]$/);
    const frame = msgpackSub.frames.filter((f) => f.isBinary).map((f) => f.data).find((d) => (decodeMsgpack(d) as unknown[])[0] === 36)!;
    const event = decodeMsgpack(frame) as unknown[];
    expect(event[4]).toEqual([new WampFloat(1), 2, 2.5, { t: new WampFloat(1000) }]);
    // the float64 marker byte (0xcb) followed by 1.0
    expect(frame.includes(Buffer.from([0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]))).toBe(true);
  });

  it('writes 1.0 for a float published over msgpack to a JSON subscriber', async () => {
    const jsonSub = await RawSession.join(router.url, router.realm, 'wamp.2.json');
    await jsonSub.subscribe('float.mp');
    const pub = await RawSession.join(router.url, router.realm, 'wamp.2.msgpack');
    pub.send([16, 1, { acknowledge: true }, 'float.mp', [new WampFloat(1), 2, 0.5], { t: new WampFloat(1000) }]);
    await pub.next((m) => m[0] === 17);
    await jsonSub.next((m) => m[0] === 36);
    const text = jsonSub.frames.map((f) => f.data.toString('utf8')).find((t) => t.startsWith('[36,'))!;
    expect(text).toMatch(/,\[1\.0,2,0\.5\],\{"t":1000\.0\}\]$/);
  });

  it("relays floats between our clients' serializers both ways", async () => {
    const sub = await openTestSession(router, { serializers: [createJsonSerializer()] });
    const pub = await openTestSession(router, { serializers: [createMsgpackSerializer()] });
    const got: unknown[] = [];
    await sub.subscribe('float.ours', (args) => void got.push(args));
    await pub.publish('float.ours', [new WampFloat(3), 4, new Uint8Array([1, 2])], {}, { acknowledge: true });
    await waitFor(() => got.length > 0, { what: 'float event' });
    expect(got[0]).toEqual([new WampFloat(3), 4, new Uint8Array([1, 2])]);
  });

  it('relays calls, results and errors between JSON and msgpack peers with payloads and floats intact', async () => {
    // JSON caller → msgpack callee → JSON caller (the JSON side's payload is relayed as text)
    const mpCallee = await RawSession.join(router.url, router.realm, 'wamp.2.msgpack');
    const jsonCaller = await RawSession.join(router.url, router.realm, 'wamp.2.json');
    await mpCallee.register('mixed.mp');
    jsonCaller.sendText('[48,11,{},"mixed.mp",[[1,2,3],1.0,null],{"x":{"y":[2.5]}}]');
    const inv = await mpCallee.next((m) => m[0] === 68);
    expect(inv[4]).toEqual([[1, 2, 3], new WampFloat(1), null]);
    expect(inv[5]).toEqual({ x: { y: [2.5] } });
    mpCallee.send([70, inv[1], {}, [new WampFloat(7), 'ok']]);
    await jsonCaller.next((m) => m[0] === 50 && m[1] === 11);
    const resultText = jsonCaller.frames.map((f) => f.data.toString('utf8')).find((t) => t.startsWith('[50,11,'))!;
    expect(resultText).toBe('[50,11,{},[7.0,"ok"]]');

    // msgpack caller → JSON callee; the callee's YIELD and ERROR reach the caller as values
    const jsonCallee = await RawSession.join(router.url, router.realm, 'wamp.2.json');
    const mpCaller = await RawSession.join(router.url, router.realm, 'wamp.2.msgpack');
    await jsonCallee.register('mixed.json');
    mpCaller.send([48, 21, {}, 'mixed.json', [new WampFloat(2)]]);
    const inv2 = await jsonCallee.next((m) => m[0] === 68);
    const invText = jsonCallee.frames.map((f) => f.data.toString('utf8')).find((t) => t.startsWith('[68,'))!;
    expect(invText).toMatch(/,\[2\.0\]\]$/);
    jsonCallee.sendText(`[70,${inv2[1] as number},{},[3.0,[[1]]],{"k":"v"}]`);
    const result = await mpCaller.next((m) => m[0] === 50 && m[1] === 21);
    expect(result).toEqual([50, 21, {}, [new WampFloat(3), [[1]]], { k: 'v' }]);
    mpCaller.send([48, 22, {}, 'mixed.json', ['fail']]);
    const inv3 = await jsonCallee.next((m) => m[0] === 68);
    jsonCallee.sendText(`[8,68,${inv3[1] as number},{},"app.error.custom",["why",1.0],{"code":4}]`);
    const err = await mpCaller.next((m) => m[0] === 8 && m[2] === 22);
    expect(err).toEqual([8, 48, 22, {}, 'app.error.custom', ['why', new WampFloat(1)], { code: 4 }]);
  });

  it('omits empty args and kwargs and never sends null for them', async () => {
    const sub = await RawSession.join(router.url, router.realm);
    const subId = await sub.subscribe('empty.topic');
    const pub = await RawSession.join(router.url, router.realm);
    pub.send([16, 1, {}, 'empty.topic']);
    pub.send([16, 2, {}, 'empty.topic', []]);
    pub.send([16, 3, {}, 'empty.topic', [], {}]);
    pub.send([16, 4, {}, 'empty.topic', [], { k: 1 }]);
    for (let i = 0; i < 3; i++) {
      const e = await sub.next((m) => m[0] === 36);
      expect(e).toEqual([36, subId, expect.any(Number), {}]);
    }
    expect(await sub.next((m) => m[0] === 36)).toEqual([36, subId, expect.any(Number), {}, [], { k: 1 }]);
    await pub.register('empty.proc');
    sub.send([48, 5, {}, 'empty.proc']);
    const inv = await pub.next((m) => m[0] === 68);
    expect(inv).toHaveLength(4);
    pub.send([70, inv[1], {}, [], {}]);
    expect(await sub.next((m) => m[0] === 50)).toEqual([50, 5, {}]);
    for (const f of [...sub.frames, ...pub.frames]) expect(f.data.toString('utf8')).not.toContain('null');
  });

  it('hands out IDs in [1, 2^53]', async () => {
    const s = await RawSession.join(router.url, router.realm);
    const ids = [s.sessionId, await s.subscribe('ids.topic'), await s.register('ids.proc')];
    s.send([16, 1, { acknowledge: true }, 'ids.topic']);
    ids.push((await s.next((m) => m[0] === 17))[2] as number);
    for (const id of ids) {
      expect(Number.isInteger(id)).toBe(true);
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(MAX_ID);
    }
  });

  it('aborts a session that breaks the protocol with wamp.error.protocol_violation, and only that one', async () => {
    const bystander = await openTestSession(router);
    await bystander.register('wire.alive', () => 'alive');
    for (const frame of ['[48,"x",{},"wire.alive"]', '[999]', '{"not":"a message"}', '[16,1,{},"t",null]', 'not json']) {
      const bad = await RawSession.join(router.url, router.realm);
      bad.sendText(frame);
      const abort = await bad.next((m) => m[0] === 3);
      expect(abort[2]).toBe('wamp.error.protocol_violation');
      await bad.closed;
    }
    expect(await bystander.call('wire.alive')).toBe('alive');
  });

  it('closes a connection that sends an oversized message, and only that one', async () => {
    const bystander = await openTestSession(router);
    const big = await RawSession.join(router.url, router.realm);
    big.send([16, 1, {}, 'big.topic', ['x'.repeat(100 * 1024)]]);
    expect(await big.closed).toBe(1009);
    expect(await bystander.call('wamp.session.count')).toBeGreaterThanOrEqual(1);
  });

  it('closes the session with goodbye_and_out on GOODBYE', async () => {
    const s = await RawSession.join(router.url, router.realm);
    s.send([6, {}, 'wamp.close.close_realm']);
    expect(await s.next((m) => m[0] === 6)).toEqual([6, {}, 'wamp.close.goodbye_and_out']);
    expect(await s.closed).toBe(1000);
  });

  it.each(['wamp.2.json.batched', 'wamp.2.msgpack.batched'] as const)('speaks %s', async (protocol) => {
    const s = await RawSession.join(router.url, router.realm, protocol);
    const subId = await s.subscribe('batched.topic');
    s.send([16, 2, { acknowledge: true, exclude_me: false }, 'batched.topic', [1]]);
    expect(await s.next((m) => m[0] === 36)).toEqual([36, subId, expect.any(Number), {}, [1]]);
  });

  it('refuses a WebSocket offering no supported subprotocol, and a path other than /ws', async () => {
    await expect(RawSession.open(router.url, 'wamp.2.cbor' as 'wamp.2.json')).rejects.toThrow();
    await expect(RawSession.open(router.url.replace(/\/ws$/, '/other'))).rejects.toThrow();
  });

  it('keeps serving others while one client does not read its messages', async () => {
    const slow = await RawSession.join(router.url, router.realm);
    await slow.subscribe('slow.topic');
    slow.ws.pause();
    const pub = await openTestSession(router);
    const fast = await openTestSession(router);
    await fast.register('slow.alive', () => 'alive');
    for (let i = 0; i < 200; i++) await pub.publish('slow.topic', ['y'.repeat(30_000)]);
    expect(await pub.call('slow.alive')).toBe('alive');
    slow.ws.resume();
    await delay(10);
  });
});

describe('router liveness pings', () => {
  /** A router that pings every 150 ms, and the ids of the sessions it has announced as left. */
  async function pingingRouter(): Promise<{ router: TestRouter; left: number[] }> {
    const router = await startTestRouter({ limits: { auto_ping_interval_ms: 150 } });
    const watcher = await openTestSession(router);
    const left: number[] = [];
    await watcher.subscribe('wamp.session.on_leave', (args) => void left.push(args?.[0] as number));
    return { router, left };
  }

  it('drops a connection that answers no ping and keeps one that does', async () => {
    const { router, left } = await pingingRouter();
    const deaf = await RawSession.join(router.url, router.realm);
    const alive = await RawSession.join(router.url, router.realm);
    deaf.ws.pause();
    await waitFor(() => left.includes(deaf.sessionId), { timeoutMs: 5000, what: 'the silent session dropped' });
    expect(left).not.toContain(alive.sessionId);
    expect(alive.ws.readyState).toBe(1);
  });

  it('keeps a connection whose pong arrived while the event loop was busy past the next check', async () => {
    const { router, left } = await pingingRouter();
    const alive = await RawSession.join(router.url, router.realm);
    let pings = 0;
    // the pong is written before 'ping' is emitted; blocking here keeps the router (same
    // process) from reading it until the next liveness check is due
    alive.ws.on('ping', () => {
      pings++;
      const until = Date.now() + 400;
      while (Date.now() < until);
    });
    await waitFor(() => pings >= 3 || alive.ws.readyState !== 1, { timeoutMs: 15_000, what: 'three pings answered' });
    expect(alive.ws.readyState).toBe(1);
    // a probe that joins and leaves afterwards: its on_leave comes after any earlier one
    const probe = await RawSession.join(router.url, router.realm);
    probe.terminate();
    await waitFor(() => left.includes(probe.sessionId), { what: 'the probe session left' });
    expect(left).not.toContain(alive.sessionId);
    expect(alive.ws.readyState).toBe(1);
  });
});
