import { beforeAll, describe, expect, it } from 'vitest';
import { autobahn, type AutobahnSerializer } from '../../../lib/wamp/autobahn.js';
import { autobahnSerializers, openTestSession, startTestRouter, type TestRouter } from '../../helpers/router.js';
import { RawSession } from './raw-session.js';

const SERIALIZERS = Object.entries(autobahnSerializers()) as [string, AutobahnSerializer][];

async function post(url: string, body: unknown, raw = false): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ? (body as string) : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

describe.each(SERIALIZERS)('router HTTP /call bridge with an autobahn-js %s callee', (_name, serializer) => {
  let router: TestRouter;

  beforeAll(async () => {
    router = await startTestRouter();
    const callee = await openTestSession(router, { serializers: [serializer] });
    await callee.register('bridge.add', (args) => (args![0] as number) + (args![1] as number));
    await callee.register('bridge.ops', (args, kwargs) => [0, `${String(args![0])} ${String(args![1])}`, { kwargs }]);
    await callee.register('bridge.nothing', () => null);
    await callee.register('bridge.multi', () => new autobahn_Result([1, 2], { k: 'v' }));
    await callee.register('bridge.fail', () => {
      throw new autobahn.Error('com.example.error.op_failed', ['it broke', [1]], { code: 7 });
    });
  });

  it('answers 200 {args: [result]} for a call', async () => {
    expect(await post(router.httpUrl, { procedure: 'bridge.add', args: [2, 3] })).toMatchObject({ status: 200, body: { args: [5] } });
    const ops = await post(router.httpUrl, { procedure: 'bridge.ops', args: ['start', 'delay_task', { delay: 1 }], kwargs: { timeout: null } });
    expect(ops).toMatchObject({ status: 200, body: { args: [[0, 'start delay_task', { kwargs: { timeout: null } }]] } });
    expect(await post(router.httpUrl, { procedure: 'bridge.nothing' })).toMatchObject({ status: 200, body: { args: [null] } });
    expect(await post(router.httpUrl, { procedure: 'bridge.multi' })).toMatchObject({ status: 200, body: { args: [1, 2], kwargs: { k: 'v' } } });
  });

  it('answers 200 {error, args, kwargs} for a WAMP error', async () => {
    expect(await post(router.httpUrl, { procedure: 'bridge.fail' })).toMatchObject({
      status: 200,
      body: { error: 'com.example.error.op_failed', args: ['it broke', [1]], kwargs: { code: 7 } },
    });
    expect(await post(router.httpUrl, { procedure: 'bridge.nobody' })).toMatchObject({ status: 200, body: { error: 'wamp.error.no_such_procedure', args: [expect.any(String)], kwargs: {} } });
  });

  it('answers 400 with a clear body for bad JSON and a missing procedure', async () => {
    const bad = await post(router.httpUrl, '{"procedure": ', true);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringContaining('JSON'), args: [], kwargs: {} });
    const missing = await post(router.httpUrl, { args: [] });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: expect.stringContaining('procedure'), args: [], kwargs: {} });
    expect((await post(router.httpUrl, { procedure: 'bridge.add', args: 'no' })).status).toBe(400);
  });

  it('sends no CORS headers to origins the config does not list', async () => {
    const pre = await fetch(router.httpUrl, { method: 'OPTIONS', headers: { origin: 'http://example.org', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(403);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await post(router.httpUrl, { procedure: 'bridge.add', args: [1, 1] });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps floats as floats through the bridge', async () => {
    const raw = await RawSession.join(router.url, router.realm);
    await raw.register(`bridge.float.${_name}`);
    const answer = fetch(router.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"procedure": "bridge.float.${_name}", "args": [1.0, 2]}` }).then((r) => r.text());
    const inv = await raw.next((m) => m[0] === 68);
    const text = raw.frames.map((f) => f.data.toString('utf8')).find((t) => t.startsWith('[68,'));
    expect(text).toContain('[1.0,2]');
    raw.sendText(`[70,${String(inv[1])},{},[3.0]]`);
    expect(await answer).toBe('{"args":[3.0]}');
  });
});

describe('router HTTP bridge reply path', () => {
  let router: TestRouter;
  beforeAll(async () => {
    router = await startTestRouter();
  });

  const call = (procedure: string): Promise<string> =>
    fetch(router.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ procedure }) }).then((r) => r.text());

  it("writes a JSON callee's reply text into the body as it came (never decoded and re-encoded)", async () => {
    const raw = await RawSession.join(router.url, router.realm);
    await raw.register('bridge.verbatim');
    const cases: [string, string][] = [
      // spacing and number spellings a decode + encode would change
      [',[ {"b": 1E2,  "a": [0.50]} ]]', '{"args":[ {"b": 1E2,  "a": [0.50]} ]}'],
      [',["x", 2],{"k" : "v"}]', '{"args":["x", 2],"kwargs":{"k" : "v"}}'],
      [',[],{"only": true}]', '{"kwargs":{"only": true}}'],
      [']', '{"args":[null]}'],
    ];
    for (const [tail, body] of cases) {
      const answer = call('bridge.verbatim');
      const inv = await raw.next((m) => m[0] === 68);
      raw.sendText(`[70,${String(inv[1])},{}${tail}`);
      expect(await answer, tail).toBe(body);
    }
    const answer = call('bridge.verbatim');
    const inv = await raw.next((m) => m[0] === 68);
    raw.sendText(`[8,68,${String(inv[1])},{},"app.error.bad",["why",  1E1]]`);
    expect(await answer).toBe('{"error":"app.error.bad","args":["why",  1E1],"kwargs":{}}');
  });

  it('encodes the reply of a msgpack callee from its values', async () => {
    const raw = await RawSession.join(router.url, router.realm, 'wamp.2.msgpack');
    await raw.register('bridge.msgpack');
    const answer = call('bridge.msgpack');
    const inv = await raw.next((m) => m[0] === 68);
    raw.send([70, inv[1], {}, [{ b: 100, a: [0.5] }], { k: 'v' }]);
    expect(await answer).toBe('{"args":[{"b":100,"a":[0.5]}],"kwargs":{"k":"v"}}');
  });
});

// autobahn.Result is not in the typed surface: a result with several args and kwargs
const autobahn_Result = (autobahn as unknown as { Result: new (args: unknown[], kwargs: Record<string, unknown>) => unknown }).Result;

describe('router HTTP bridge role', () => {
  it('uses the configured role for bridge calls', async () => {
    const router = await startTestRouter({
      realms: [
        {
          name: 'test_realm',
          roles: [
            { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }] },
            { name: 'iocs_controller', permissions: [{ uri: 'observatory.', match: 'prefix', allow: { call: true } }] },
          ],
        },
      ],
      http_bridge: { realm: 'test_realm', role: 'iocs_controller' },
    });
    const callee = await openTestSession(router);
    await callee.register('observatory.agent.ops', () => 'ok');
    await callee.register('elsewhere.proc', () => 'no');
    expect(await post(router.httpUrl, { procedure: 'observatory.agent.ops' })).toMatchObject({ status: 200, body: { args: ['ok'] } });
    expect(await post(router.httpUrl, { procedure: 'elsewhere.proc' })).toMatchObject({ status: 200, body: { error: 'wamp.error.not_authorized' } });
  });
});
