import { beforeAll, describe, expect, it } from 'vitest';
import { autobahn, type AutobahnSerializer, type CallDetails, type CallPromise } from '../../../lib/wamp/autobahn.js';
import type { WampSubprotocol } from '../../../lib/wamp/frame-codecs.js';
import { autobahnSerializers, openTestSession, startTestRouter, type TestRouter } from '../../helpers/router.js';
import { delay, waitFor } from '../../helpers/wait.js';
import { RawSession } from './raw-session.js';

const SERIALIZERS = Object.entries(autobahnSerializers()).map(([name, s]) => [name, s, `wamp.2.${name}`] as const) as [string, AutobahnSerializer, WampSubprotocol][];

const MSG = { ERROR: 8, CALL: 48, CANCEL: 49, RESULT: 50, INVOCATION: 68, INTERRUPT: 69, YIELD: 70 };
const NEVER = () => new Promise<never>(() => {});

/** A handler that never answers, and counts its invocations. */
function neverAnswering(): { handler: () => Promise<never>; invocations: () => number } {
  let n = 0;
  return {
    handler: () => {
      n++;
      return NEVER();
    },
    invocations: () => n,
  };
}

/**
 * Returns once the router has handled everything `callee` and `caller` sent so far and both have
 * received what it sent them in answer: a registration from the callee and a meta call from the
 * caller, each answered after the earlier messages on its connection.
 */
async function afterEarlierMessages(callee: RawSession, caller: RawSession, procedure: string): Promise<void> {
  await callee.register(procedure);
  const r = await caller.request((id) => [MSG.CALL, id, {}, 'wamp.session.count'], MSG.RESULT);
  expect(r[0]).toBe(MSG.RESULT);
}

type ProgressPromise = Promise<unknown> & { then(ok?: (v: unknown) => unknown, err?: (e: unknown) => unknown, progress?: (p: unknown) => void): Promise<unknown> };

describe.each(SERIALIZERS)('router dealer over autobahn-js %s', (_name, serializer, protocol) => {
  let router: TestRouter;
  const open = () => openTestSession(router, { serializers: [serializer] });
  const raw = () => RawSession.join(router.url, router.realm, protocol);

  beforeAll(async () => {
    router = await startTestRouter();
  });

  it('relays args and kwargs untouched, both ways', async () => {
    const callee = await open();
    const caller = await open();
    await callee.register('rpc.echo', (args, kwargs) => ({ args, kwargs }));
    await callee.register('rpc.first', (args) => args?.[0]);
    expect(await caller.call('rpc.first', [[1, 2, 3]])).toEqual([1, 2, 3]);
    expect(await caller.call('rpc.first', [null])).toBeNull();
    expect(await caller.call('rpc.first', [{ 'ü€': [2 ** 53, -1.5, '😀'] }])).toEqual({ 'ü€': [2 ** 53, -1.5, '😀'] });
    expect(await caller.call('rpc.echo', [1, [2]], { k: { v: null } })).toEqual({ args: [1, [2]], kwargs: { k: { v: null } } });
  });

  it('refuses a second registration of the same procedure with procedure_already_exists', async () => {
    const a = await open();
    const b = await open();
    await a.register('rpc.single', () => 1);
    await expect(b.register('rpc.single', () => 2)).rejects.toMatchObject({ error: 'wamp.error.procedure_already_exists' });
    await expect(a.register('rpc.single', () => 2)).rejects.toMatchObject({ error: 'wamp.error.procedure_already_exists' });
    expect(await b.call('rpc.single')).toBe(1);
  });

  it("relays a callee's ERROR with its URI, args and kwargs", async () => {
    const callee = await open();
    const caller = await open();
    await callee.register('rpc.fail', () => {
      throw new autobahn.Error('com.example.error.custom', [[1, 2, 3], null], { why: 'because', n: 2 });
    });
    await expect(caller.call('rpc.fail')).rejects.toMatchObject({ error: 'com.example.error.custom', args: [[1, 2, 3], null], kwargs: { why: 'because', n: 2 } });
  });

  it('answers unknown procedures with no_such_procedure and stops routing after unregister', async () => {
    const callee = await open();
    const caller = await open();
    await expect(caller.call('rpc.nobody')).rejects.toMatchObject({ error: 'wamp.error.no_such_procedure' });
    const reg = await callee.register('rpc.temp', () => 'ok');
    expect(await caller.call('rpc.temp')).toBe('ok');
    await callee.unregister(reg);
    await expect(caller.call('rpc.temp')).rejects.toMatchObject({ error: 'wamp.error.no_such_procedure' });
  });

  it('refuses registering wamp.* and invalid URIs with invalid_uri', async () => {
    const s = await open();
    await expect(s.register('wamp.session.count', () => 0)).rejects.toMatchObject({ error: 'wamp.error.invalid_uri' });
    await expect(s.register('bad..uri', () => 0)).rejects.toMatchObject({ error: 'wamp.error.invalid_uri' });
    await expect(s.call('bad uri')).rejects.toMatchObject({ error: 'wamp.error.invalid_uri' });
  });

  it('relays progressive results before the final one', async () => {
    const callee = await open();
    const caller = await open();
    await callee.register('rpc.progress', async (args, _kwargs, details: CallDetails) => {
      for (let i = 0; i < 3; i++) details.progress?.([i]);
      await delay(10);
      return 'done';
    });
    const progress: unknown[] = [];
    const p = caller.call('rpc.progress', [], {}, { receive_progress: true }) as unknown as ProgressPromise;
    const result = await p.then(
      (v) => v,
      (e) => {
        throw e;
      },
      (r) => progress.push(r),
    );
    expect(result).toBe('done');
    // autobahn-js unwraps a one-element progressive result, as it does a final one
    expect(progress).toEqual([0, 1, 2]);
  });

  it('discloses the caller when asked', async () => {
    const callee = await open();
    const caller = await open();
    await callee.register('rpc.who', (_a, _k, details: CallDetails) => details.caller ?? null);
    expect(await caller.call('rpc.who')).toBeNull();
    expect(await caller.call('rpc.who', [], {}, { disclose_me: true })).toBe(caller.id);
  });

  it('times a call out with wamp.error.timeout and interrupts a callee that supports canceling', async () => {
    const callee = await raw();
    await callee.register('rpc.slow.timeout');
    const caller = await open();
    const started = Date.now();
    const timedOut = await caller.call('rpc.slow.timeout', [], {}, { timeout: 200 }).then(
      () => undefined,
      (e: { error?: string }) => e.error,
    );
    // ours says timeout; the Advanced Profile also allows canceled, which the caller side maps the same way
    expect(['wamp.error.timeout', 'wamp.error.canceled']).toContain(timedOut);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const inv = await callee.next((m) => m[0] === MSG.INVOCATION);
    expect((inv[3] as Record<string, unknown>)['timeout']).toBe(200);
    const interrupt = await callee.next((m) => m[0] === MSG.INTERRUPT);
    expect(interrupt[1]).toBe(inv[1]);
    expect((interrupt[2] as Record<string, unknown>)['mode']).toBe('killnowait');
    // a late answer is dropped, and the caller's session is unharmed
    callee.send([MSG.YIELD, inv[1], {}, ['late']]);
    await callee.register('rpc.after.timeout');
    expect(caller.isOpen).toBe(true);
  });

  it('lets a call run with no router deadline when no timeout is given', async () => {
    const callee = await open();
    const caller = await open();
    await callee.register('rpc.long', async () => {
      await delay(2500);
      return 'finished';
    });
    expect(await caller.call('rpc.long')).toBe('finished');
  });

  it('cancels with mode kill: INTERRUPT to the callee, whose answer reaches the caller', async () => {
    const callee = await raw();
    await callee.register('rpc.slow.kill');
    const caller = await open();
    const p = caller.call('rpc.slow.kill') as CallPromise<unknown>;
    const inv = await callee.next((m) => m[0] === MSG.INVOCATION);
    p.cancel?.({ mode: 'kill' });
    const interrupt = await callee.next((m) => m[0] === MSG.INTERRUPT);
    expect(interrupt[1]).toBe(inv[1]);
    expect((interrupt[2] as Record<string, unknown>)['mode']).toBe('kill');
    callee.send([MSG.ERROR, MSG.INVOCATION, inv[1], {}, 'wamp.error.canceled', ['stopped']]);
    await expect(p).rejects.toMatchObject({ error: 'wamp.error.canceled', args: ['stopped'] });
  });

  it('cancels with mode kill as skip when the callee does not support canceling (autobahn-js)', async () => {
    const callee = await open();
    const caller = await open();
    const slow = neverAnswering();
    await callee.register('rpc.slow.ab', slow.handler);
    const p = caller.call('rpc.slow.ab') as CallPromise<unknown>;
    await waitFor(() => slow.invocations() === 1, { what: 'the invocation at the callee' });
    p.cancel?.({ mode: 'kill' });
    await expect(p).rejects.toMatchObject({ error: 'wamp.error.canceled' });
    expect(callee.isOpen).toBe(true);
  });

  it('cancels with mode skip: ERROR at once, no INTERRUPT, the late YIELD is dropped', async () => {
    const callee = await raw();
    await callee.register('rpc.slow.skip');
    const caller = await raw();
    caller.send([MSG.CALL, 7, {}, 'rpc.slow.skip']);
    const inv = await callee.next((m) => m[0] === MSG.INVOCATION);
    caller.send([MSG.CANCEL, 7, { mode: 'skip' }]);
    const err = await caller.next((m) => m[0] === MSG.ERROR);
    expect(err.slice(0, 3)).toEqual([MSG.ERROR, MSG.CALL, 7]);
    expect(err[4]).toBe('wamp.error.canceled');
    callee.send([MSG.YIELD, inv[1], {}, ['late']]);
    await afterEarlierMessages(callee, caller, 'rpc.slow.skip.after');
    expect(callee.received.filter((m) => m[0] === MSG.INTERRUPT)).toEqual([]);
    expect(caller.received.filter((m) => m[0] === MSG.RESULT)).toEqual([]);
  });

  it('cancels with mode killnowait: ERROR at once and INTERRUPT, the late ERROR is dropped', async () => {
    const callee = await raw();
    await callee.register('rpc.slow.knw');
    const caller = await raw();
    caller.send([MSG.CALL, 9, {}, 'rpc.slow.knw']);
    const inv = await callee.next((m) => m[0] === MSG.INVOCATION);
    caller.send([MSG.CANCEL, 9, { mode: 'killnowait' }]);
    const err = await caller.next((m) => m[0] === MSG.ERROR);
    expect(err[4]).toBe('wamp.error.canceled');
    const interrupt = await callee.next((m) => m[0] === MSG.INTERRUPT);
    expect(interrupt[1]).toBe(inv[1]);
    expect((interrupt[2] as Record<string, unknown>)['mode']).toBe('killnowait');
    callee.send([MSG.ERROR, MSG.INVOCATION, inv[1], {}, 'wamp.error.canceled']);
    await afterEarlierMessages(callee, caller, 'rpc.slow.knw.after');
    expect(caller.received.filter((m) => m[0] === MSG.ERROR)).toEqual([]);
  });

  it('fails pending calls with wamp.error.canceled when the callee leaves or drops', async () => {
    const callee = await open();
    const caller = await open();
    const pending = neverAnswering();
    await callee.register('rpc.pending.leave', pending.handler);
    const p = caller.call('rpc.pending.leave');
    await waitFor(() => pending.invocations() === 1, { what: 'the invocation at the callee' });
    callee.leave('wamp.close.normal');
    await expect(p).rejects.toMatchObject({ error: 'wamp.error.canceled' });

    const dropper = await raw();
    await dropper.register('rpc.pending.drop');
    const q = caller.call('rpc.pending.drop');
    await dropper.next((m) => m[0] === MSG.INVOCATION);
    dropper.terminate();
    await expect(q).rejects.toMatchObject({ error: 'wamp.error.canceled' });
    await expect(caller.call('rpc.pending.drop')).rejects.toMatchObject({ error: 'wamp.error.no_such_procedure' });
  });

  it('sends INTERRUPT to the callee when the caller leaves', async () => {
    const callee = await raw();
    await callee.register('rpc.pending.caller');
    const caller = await open();
    void caller.call('rpc.pending.caller').catch(() => {});
    const inv = await callee.next((m) => m[0] === MSG.INVOCATION);
    caller.leave('wamp.close.normal');
    const interrupt = await callee.next((m) => m[0] === MSG.INTERRUPT);
    expect(interrupt[1]).toBe(inv[1]);
    expect((interrupt[2] as Record<string, unknown>)['mode']).toBe('killnowait');
    // the callee's answer to a gone caller goes nowhere and harms nothing
    callee.send([MSG.YIELD, inv[1], {}, ['late']]);
    await waitFor(async () => (await callee.register('rpc.after.caller')) > 0);
  });
});
