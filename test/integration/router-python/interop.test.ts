import { afterEach, describe, expect, it } from 'vitest';
import { autobahn, isAutobahnError, type AutobahnSession } from '../../../lib/wamp/autobahn.js';
import { createJsonSerializer, createMsgpackSerializer } from '../../../lib/wamp/serializers.js';
import { observedOne, runPythonScenario, startPythonScenario, type PythonScenario } from '../../helpers/python-wamp.js';
import { openTestSession } from '../../helpers/router.js';
import { usePythonSuiteRouter } from './python-router.js';

const router = usePythonSuiteRouter();
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A JS session on the serializer python is not using, so every message crosses codecs. */
async function jsSession(pythonSerializer: 'json' | 'msgpack'): Promise<AutobahnSession> {
  const serializer = pythonSerializer === 'json' ? createMsgpackSerializer() : createJsonSerializer();
  return openTestSession(router(), { serializers: [serializer] });
}

async function servePython(serializer: 'json' | 'msgpack'): Promise<PythonScenario> {
  const py = startPythonScenario('serve', router().url, { serializer });
  cleanups.push(async () => {
    const run = await py.finish(true);
    expect(run.failure).toBeUndefined();
  });
  await py.waitFor((o) => o['ready'] === true, 'python serve ready');
  return py;
}

async function postCall(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(router().httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe.each(['json', 'msgpack'] as const)('python3-autobahn (%s) and autobahn-js through the router', (serializer) => {
  it('python calls procedures registered by autobahn-js and gets results and errors unchanged', async () => {
    const js = await jsSession(serializer);
    await js.register('js.add', (args) => (args![0] as number) + (args![1] as number));
    await js.register('js.echo', (args) => args![0]);
    await js.register('js.fail', () => {
      throw new autobahn.Error('js.error.custom', ['no', { n: [1, 2] }], { code: 3 });
    });
    const add = await runPythonScenario('call', router().url, { serializer, opts: { procedure: 'js.add', args: [2, 3] } });
    expect(add.failure).toBeUndefined();
    expect(observedOne(add, 'result')).toEqual({ args: [5], kwargs: {} });
    const echo = await runPythonScenario('call', router().url, { serializer, opts: { procedure: 'js.echo', args: [[[1, 2, 3], 'ü', null]] } });
    expect(echo.failure).toBeUndefined();
    expect(observedOne(echo, 'result')).toEqual({ args: [[[1, 2, 3], 'ü', null]], kwargs: {} });
    const fail = await runPythonScenario('call', router().url, { serializer, opts: { procedure: 'js.fail' } });
    expect(fail.failure).toBeUndefined();
    expect(observedOne(fail, 'error')).toEqual({ error: 'js.error.custom', args: ['no', { n: [1, 2] }], kwargs: { code: 3 } });
  });

  it('autobahn-js calls procedures registered by python and publishes to its subscription', async () => {
    const py = await servePython(serializer);
    const js = await jsSession(serializer);
    expect(await js.call('py.serve.add', [2, 3])).toBe(5);
    const echoed = await js.call<{ args: unknown[]; kwargs: Record<string, unknown> }>('py.serve.echo', ['x', [1, 2]], { k: 'v' });
    expect({ args: echoed.args, kwargs: echoed.kwargs }).toEqual({ args: ['x', [1, 2]], kwargs: { k: 'v' } });
    const failure = await js.call('py.serve.fail', ['please']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAutobahnError(failure)).toBe(true);
    expect(failure).toMatchObject({ error: 'py.error.serve_failed', args: ['refused', { why: 'asked to' }], kwargs: { detail: 'kw' } });
    await js.publish('py.serve.inbox', [{ from: 'js' }], { n: 1 }, { acknowledge: true });
    const event = await py.waitFor((o) => 'event' in o, 'event from autobahn-js');
    expect(event['event']).toEqual({ args: [{ from: 'js' }], kwargs: { n: 1 } });
  });

  it('serves HTTP POST /call against a python callee: results and errors', async () => {
    await servePython(serializer);
    expect(await postCall({ procedure: 'py.serve.add', args: [2, 3] })).toEqual({ status: 200, body: { args: [5] } });
    expect(await postCall({ procedure: 'py.serve.echo', args: ['a', 1], kwargs: { b: [true] } })).toEqual({
      status: 200,
      body: { args: ['a', 1], kwargs: { b: [true] } },
    });
    expect(await postCall({ procedure: 'py.serve.fail', args: [] })).toEqual({
      status: 200,
      body: { error: 'py.error.serve_failed', args: ['refused', { why: 'asked to' }], kwargs: { detail: 'kw' } },
    });
    const missing = await postCall({ procedure: 'py.serve.nothing', args: [] });
    expect(missing.status).toBe(200);
    expect(missing.body['error']).toBe('wamp.error.no_such_procedure');
  });
});
