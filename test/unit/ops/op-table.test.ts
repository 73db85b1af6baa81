import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../../../lib/clock.js';
import { OpCode } from '../../../lib/ops/op-codes.js';
import type { EncodedSession, OpSession } from '../../../lib/ops/op-session.js';
import { OP_CODE_CHANGED, OpTable, type OpCodeChange, type OpTableOptions } from '../../../lib/ops/op-table.js';
import type { OpResult } from '../../../lib/ops/op-spec.js';
import { ParamError } from '../../../lib/ops/params.js';
import { parseOpsCall } from '../../../lib/ops/parse-ops-call.js';

const T0_MS = 1_700_000_000_000;
const T0_S = T0_MS / 1000;

const DelayParams = z.object({
  delay: z.number().refine((x) => x >= 0).default(5),
  succeed: z.boolean().default(true),
});

/** A table with FakeData-like ops; `call` goes through parseOpsCall like the runtime. */
function makeTable(options: Partial<OpTableOptions> = {}) {
  const table = new OpTable({
    agentClass: 'FakeDataAgent',
    clock: systemClock,
    accessPolicy: 'none',
    describeAgent: () => ({ agent_class: 'FakeDataAgent', instance_hostname: 'ocs-docker', instance_pid: 12345, feeds: [['false_temperatures', { record: true }]] }),
    ...options,
  });
  const stopCalls: unknown[] = [];
  table.registerProcess('acq', {
    start: async (session) => {
      session.setStatus('running');
      while (!session.signal.aborted) await session.sleep(1000);
      return [true, 'Acquisition exited cleanly.'];
    },
    stop: async (session, params) => {
      stopCalls.push(params);
      session.setStatus('stopping');
      return [true, 'Requested process stop.'];
    },
    params: z.object({ test_mode: z.boolean().default(false) }),
    docstring: 'acq(test_mode=False)',
  });
  table.registerTask('delay_task', {
    fn: async (session, params) => {
      session.data = { requested_delay: params.delay };
      const isFull = await session.sleep(params.delay * 1000);
      if (!isFull) return [false, 'Aborted'];
      return [params.succeed, `Exited after ${params.delay} seconds`];
    },
    aborter: async (session) => {
      if (session.status === 'running') session.setStatus('stopping');
      return [true, 'Requested abort.'];
    },
    params: DelayParams,
    blocking: false,
  });
  table.registerProcess('count', {
    start: async (session) => {
      while (!session.signal.aborted) await session.sleep(1000);
      return [true, 'Exited on request.'];
    },
    // A stopper that does not set `stopping`: the framework must not either.
    stop: async () => [true, 'noted'],
    blocking: false,
  });
  const call = (args: unknown[], kwargs: Record<string, unknown> = {}) => table.handle(parseOpsCall(args, kwargs));
  return { table, call, stopCalls };
}

function texts(session: { messages: ReadonlyArray<readonly [number, string]> }): string[] {
  return session.messages.map((m) => m[1]);
}

describe('OpTable', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0_MS);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('start', () => {
    it('replies with a starting session and runs the op on the next tick', async () => {
      const { table, call } = makeTable();
      const reply = await call(['start', 'delay_task', { delay: 1 }]);
      expect(reply).toEqual([
        0,
        'Started task "delay_task".',
        {
          session_id: 0,
          op_name: 'delay_task',
          op_code: 2,
          cred_level: 1,
          status: 'starting',
          degraded: false,
          success: null,
          start_time: T0_S,
          end_time: null,
          data: {},
          messages: [[T0_S, 'Status is now "starting".']],
        },
      ]);
      expect(table.session('delay_task')?.status).toBe('starting');
      await vi.advanceTimersByTimeAsync(0);
      expect(table.session('delay_task')?.status).toBe('running');
      await vi.advanceTimersByTimeAsync(1000);
      const done = (await call(['status', 'delay_task', {}]))[2] as EncodedSession;
      expect(done).toMatchObject({ status: 'done', success: true, op_code: 5, end_time: T0_S + 1, data: { requested_delay: 1 } });
      expect(texts(done)).toEqual(['Status is now "starting".', 'Status is now "running".', 'Exited after 1 seconds', 'Status is now "done".']);
    });

    it('says "process" for processes', async () => {
      const { call } = makeTable();
      expect((await call(['start', 'acq', {}])).slice(0, 2)).toEqual([0, 'Started process "acq".']);
    });

    it('refuses an unknown op', async () => {
      const { call } = makeTable();
      expect(await call(['start', 'nope', {}])).toEqual([-1, 'No task or process called "nope"', {}]);
    });

    it('returns the live session when already in progress', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 10 }]);
      await vi.advanceTimersByTimeAsync(0);
      const reply = await call(['start', 'delay_task', { delay: 1 }]);
      expect(reply[0]).toBe(-1);
      expect(reply[1]).toBe('Operation "delay_task" already in progress.');
      expect(reply[2]).toMatchObject({ session_id: 0, status: 'running', data: { requested_delay: 10 } });
    });

    it('replaces a done session with a new id from one counter across ops', async () => {
      const { call } = makeTable();
      expect((await call(['start', 'acq', {}]))[2]).toMatchObject({ session_id: 0 });
      expect((await call(['start', 'delay_task', { delay: 0 }]))[2]).toMatchObject({ session_id: 1 });
      await vi.advanceTimersByTimeAsync(10);
      const again = await call(['start', 'delay_task', { delay: 0 }]);
      expect(again[0]).toBe(0);
      expect(again[2]).toMatchObject({ session_id: 2, status: 'starting', success: null, end_time: null });
      expect((again[2] as { messages: unknown[] }).messages).toHaveLength(1);
    });

    it('replies with the param error before any session exists', async () => {
      const { table, call } = makeTable();
      expect(await call(['start', 'delay_task', { delay: 'soon' }])).toEqual([-1, "Param 'delay'=soon is not of required type (<class 'float'>)", {}]);
      expect(await call(['start', 'delay_task', { delay: -1 }])).toEqual([-1, "Param 'delay' failed validity check (see docs?).", {}]);
      expect(await call(['start', 'delay_task', { delay: 1, extra: 1, more: 2 }])).toEqual([-1, "params included unexpected values: ['extra', 'more']", {}]);
      expect(await call(['start', 'acq', { test_mode: null, x: null }])).toEqual([-1, "params included unexpected values: ['x']", {}]);
      expect(await call(['status', 'delay_task', {}])).toEqual([0, 'No session active.', {}]);
      expect(table.opCodes()['delay_task']).toBe(1);
      // No session id was used up.
      expect((await call(['start', 'delay_task', {}]))[2]).toMatchObject({ session_id: 0 });
    });

    it('reports a crash during param pre-processing', async () => {
      const { call } = makeTable();
      expect(await call(['start', 'delay_task', [1, 2]])).toEqual([-1, "CRASH: during param pre-processing: 'list' object has no attribute 'get'", {}]);
      const { table } = makeTable();
      table.registerTask('explode', {
        fn: async () => [true, ''],
        params: z.object({
          x: z.number().refine(() => {
            throw new Error('checker blew up');
          }),
        }),
      });
      expect(await table.start('explode', { x: 1 })).toEqual([-1, 'CRASH: during param pre-processing: checker blew up', {}]);
    });

    it('accepts null and [] as params and applies defaults', async () => {
      const { table, call } = makeTable();
      await call(['start', 'delay_task', null]);
      expect(table.session('delay_task')).not.toBeNull();
      await call(['start', 'acq', []]);
      await vi.advanceTimersByTimeAsync(0);
      expect(table.session('delay_task')?.data).toEqual({ requested_delay: 5 });
    });

    /** Registers a task that records the params it receives. */
    function recordingTask(table: OpTable, name: string, spec: { params?: z.ZodObject; shouldCheckStrays?: boolean } = {}): unknown[] {
      const seen: unknown[] = [];
      table.registerTask(name, { fn: async (_s, params) => (seen.push(params), [true, 'ok']), ...spec });
      return seen;
    }

    it('passes params raw to ops without a schema', async () => {
      const { table, call } = makeTable();
      const seen = recordingTask(table, 'raw');
      for (const p of [undefined, null, [], { a: 1 }, 'text']) {
        await call(p === undefined ? ['start', 'raw'] : ['start', 'raw', p]);
        await vi.advanceTimersByTimeAsync(0);
      }
      expect(seen).toEqual([null, null, [], { a: 1 }, 'text']);
    });

    it('lets an op opt out of the stray-key check', async () => {
      const { table, call } = makeTable();
      const seen = recordingTask(table, 'lenient', { params: z.object({ a: z.number().default(1) }), shouldCheckStrays: false });
      expect((await call(['start', 'lenient', { b: 2 }]))[0]).toBe(0);
      await vi.advanceTimersByTimeAsync(0);
      expect(seen).toEqual([{ a: 1 }]);
    });

    it('discards a done session even when the restart is refused, as OCS', async () => {
      const { table, call } = makeTable();
      await call(['start', 'delay_task', { delay: 0 }]);
      await vi.advanceTimersByTimeAsync(10);
      expect(table.opCodes()['delay_task']).toBe(OpCode.SUCCEEDED);
      await call(['start', 'delay_task', { delay: 'x' }]);
      expect(table.opCodes()['delay_task']).toBe(OpCode.NONE);
      expect(await call(['status', 'delay_task'])).toEqual([0, 'No session active.', {}]);
    });
  });

  describe('op outcomes', () => {
    async function runTask(fn: (session: OpSession) => Promise<OpResult>) {
      const { table, call } = makeTable();
      table.registerTask('t', { fn });
      await call(['start', 't']);
      await vi.advanceTimersByTimeAsync(0);
      return (await call(['wait', 't', {}], { timeout: -1 }))[2] as EncodedSession;
    }

    it('ends a crashing op with a CRASH message and success false', async () => {
      const s = await runTask(async () => {
        throw new Error('boom');
      });
      expect(s).toMatchObject({ status: 'done', success: false, op_code: OpCode.FAILED });
      const crash = texts(s)[2] as string;
      expect(crash.startsWith("CRASH: [Failure instance: Traceback: <class 'Error'>: boom\n")).toBe(true);
      expect(crash.endsWith(']')).toBe(true);
      expect(texts(s)[3]).toBe('Status is now "done".');
    });

    it('ends an op that throws a ParamError with an ERROR message', async () => {
      const s = await runTask(async () => {
        throw new ParamError("Param 'x' is required and must not be None");
      });
      expect(texts(s).slice(2)).toEqual(["ERROR: Param 'x' is required and must not be None", 'Status is now "done".']);
      expect(s.success).toBe(false);
    });

    it('treats an unparsable return value as a crash', async () => {
      const s = await runTask(async () => 42 as unknown as OpResult);
      expect(texts(s)[2]).toMatch(/^CRASH: \[Failure instance: Traceback: <class 'TypeError'>: op "t" returned 42; expected \[ok: boolean, message: string\]/);
      expect(s.success).toBe(false);
    });

    it('records a failed result as FAILED', async () => {
      const s = await runTask(async () => [false, 'could not']);
      expect(s).toMatchObject({ success: false, op_code: OpCode.FAILED });
      expect(texts(s)[2]).toBe('could not');
    });

    it('accepts a synchronous op function', async () => {
      const { table, call } = makeTable();
      table.registerTask('sync', { fn: () => [true, 'quick'] });
      await call(['start', 'sync']);
      await vi.advanceTimersByTimeAsync(0);
      expect(table.session('sync')?.success).toBe(true);
    });
  });

  describe('wait', () => {
    it('answers unknown and idle ops', async () => {
      const { call } = makeTable();
      expect(await call(['wait', 'nope', {}])).toEqual([-1, 'Unknown operation "nope".', {}]);
      expect(await call(['wait', 'delay_task', {}])).toEqual([0, 'Idle.', {}]);
    });

    it('blocks until done with a null timeout', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 30 }]);
      let reply: unknown;
      void call(['wait', 'delay_task', {}], { timeout: null }).then((r) => (reply = r));
      await vi.advanceTimersByTimeAsync(29_999);
      expect(reply).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(reply).toMatchObject([0, 'Operation "delay_task" is currently not running (SUCCEEDED).', { status: 'done', success: true }]);
    });

    it('says FAILED unless success is true', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 1, succeed: false }]);
      const waiting = call(['wait', 'delay_task']);
      await vi.advanceTimersByTimeAsync(1000);
      expect((await waiting).slice(0, 2)).toEqual([0, 'Operation "delay_task" is currently not running (FAILED).']);
    });

    it('returns at once with code 1 for a negative timeout', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 30 }]);
      await vi.advanceTimersByTimeAsync(0);
      const reply = await call(['wait', 'delay_task', {}], { timeout: -1 });
      expect(reply[0]).toBe(1);
      expect(reply[1]).toBe('Operation "delay_task" still running; wait timed out.');
      expect(reply[2]).toMatchObject({ status: 'running', session_id: 0 });
    });

    it('waits at most a positive timeout', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 30 }]);
      let reply: unknown;
      void call(['wait', 'delay_task', {}, 2.5]).then((r) => (reply = r));
      await vi.advanceTimersByTimeAsync(2499);
      expect(reply).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(reply).toMatchObject([1, 'Operation "delay_task" still running; wait timed out.', { status: 'running' }]);
      expect(vi.getTimerCount()).toBe(1); // only the op's own sleep
    });

    it('returns as soon as the op ends within the timeout, leaving no timer', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 2 }]);
      let reply: unknown[] = [];
      void call(['wait', 'delay_task'], { timeout: 60 }).then((r) => (reply = r));
      await vi.advanceTimersByTimeAsync(2000);
      expect(reply.slice(0, 2)).toEqual([0, 'Operation "delay_task" is currently not running (SUCCEEDED).']);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('times out after one tick for a zero timeout', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 5 }]);
      const waiting = call(['wait', 'delay_task'], { timeout: 0 });
      await vi.advanceTimersByTimeAsync(0);
      expect((await waiting)[0]).toBe(1);
    });

    it('answers at once for a done session whatever the timeout', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 0 }]);
      await vi.advanceTimersByTimeAsync(10);
      for (const timeout of [null, -1, 0, 10]) {
        expect((await call(['wait', 'delay_task'], { timeout })).slice(0, 2)).toEqual([0, 'Operation "delay_task" is currently not running (SUCCEEDED).']);
      }
    });
  });

  describe('status', () => {
    it('answers unknown, never run, live and done ops', async () => {
      const { call } = makeTable();
      expect(await call(['status', 'nope', {}])).toEqual([-1, 'No task or process called "nope"', {}]);
      expect(await call(['status', 'delay_task', []])).toEqual([0, 'No session active.', {}]);
      await call(['start', 'delay_task', { delay: 1 }]);
      await vi.advanceTimersByTimeAsync(0);
      expect(await call(['status', 'delay_task', {}])).toMatchObject([0, 'Session active.', { status: 'running', op_code: 3 }]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(await call(['status', 'delay_task', {}])).toMatchObject([0, 'Session active.', { status: 'done', op_code: 5 }]);
    });
  });

  it('answers an unknown action naming the op', async () => {
    const { call } = makeTable();
    expect(await call(['launch', 'acq', {}])).toEqual([-1, 'No implementation for "acq"', {}]);
  });

  describe('stop and abort', () => {
    it('answers unknown ops and the wrong kind with OCS texts', async () => {
      const { call } = makeTable();
      expect(await call(['stop', 'nope', {}])).toEqual([-1, 'No operation called "nope".', {}]);
      expect(await call(['abort', 'nope', {}])).toEqual([-1, 'No operation called "nope".', {}]);
      expect(await call(['stop', 'delay_task', {}])).toEqual([-1, 'Cannot "stop" "delay_task" because it is a "{op_type}".', {}]);
      expect(await call(['abort', 'acq', []])).toEqual([-1, 'Cannot "abort" "acq" because it is a "{op_type}".', {}]);
      expect(await call(['stop', 'acq', []])).toEqual([-1, 'No session active.', {}]);
    });

    it('stops a process through its stopper, with the stray quote', async () => {
      const { table, call, stopCalls } = makeTable();
      await call(['start', 'acq', {}]);
      await vi.advanceTimersByTimeAsync(1500);
      const reply = await call(['stop', 'acq', []]);
      expect(reply[0]).toBe(0);
      expect(reply[1]).toBe('Requested stop on process acq".');
      expect(reply[2]).toMatchObject({ status: 'stopping', op_code: 4 });
      expect(stopCalls).toEqual([[]]);
      expect(await call(['stop', 'acq', {}])).toEqual([-1, 'The operation is already stopping', {}]);
      await vi.advanceTimersByTimeAsync(0);
      expect(table.session('acq')?.status).toBe('done');
      expect(await call(['stop', 'acq', {}])).toEqual([-1, 'The operation is already done', {}]);
    });

    it('aborts a task through its aborter', async () => {
      const { call } = makeTable();
      await call(['start', 'delay_task', { delay: 100 }]);
      await vi.advanceTimersByTimeAsync(0);
      const reply = await call(['abort', 'delay_task', {}]);
      expect(reply.slice(0, 2)).toEqual([0, 'Requested abort on task delay_task".']);
      const waited = await call(['wait', 'delay_task']);
      expect(waited[1]).toBe('Operation "delay_task" is currently not running (FAILED).');
      expect(texts(waited[2] as never)).toContain('Aborted');
    });

    it('does not change the status itself when the stopper does not', async () => {
      const { table, call } = makeTable();
      await call(['start', 'count', {}]);
      await vi.advanceTimersByTimeAsync(0);
      const session = table.session('count') as OpSession;
      session.setStatus('running');
      const reply = await call(['stop', 'count', {}]);
      expect(reply).toMatchObject([0, 'Requested stop on process count".', { status: 'running', op_code: 3 }]);
      expect(session.stopRequested).toBe(true);
      // A second stop is allowed: the status is still running.
      expect((await call(['stop', 'count', {}]))[0]).toBe(0);
      await vi.advanceTimersByTimeAsync(0);
      expect(session.status).toBe('done');
    });

    it('aborts a task without an aborter through its session signal only', async () => {
      const { table, call } = makeTable();
      table.registerTask('plain', {
        fn: async (session) => {
          await session.sleep(60_000);
          return [!session.stopRequested, 'ended'];
        },
      });
      await call(['start', 'plain']);
      await vi.advanceTimersByTimeAsync(0);
      expect((await call(['abort', 'plain'])).slice(0, 2)).toEqual([0, 'Requested abort on task plain".']);
      await vi.advanceTimersByTimeAsync(0);
      expect(table.session('plain')?.success).toBe(false);
    });

    it('survives a stopper that throws', async () => {
      const { table, call } = makeTable();
      table.registerProcess('bad_stop', {
        start: async (session) => {
          await session.sleep(1000);
          return [true, 'done'];
        },
        stop: () => {
          throw new Error('stopper failed');
        },
      });
      await call(['start', 'bad_stop']);
      await vi.advanceTimersByTimeAsync(0);
      expect((await call(['stop', 'bad_stop']))[0]).toBe(0);
    });

    it('crashes an op stopped before it ran, as OCS (status cannot go back to running)', async () => {
      const { table, call } = makeTable();
      await call(['start', 'acq', {}]);
      expect((await call(['stop', 'acq', {}]))[2]).toMatchObject({ status: 'stopping' });
      await vi.advanceTimersByTimeAsync(0);
      const session = table.session('acq') as OpSession;
      expect(session.status).toBe('done');
      expect(session.success).toBe(false);
      expect(texts(session).at(-2)).toMatch(/^CRASH: .*only move forward/);
    });
  });

  describe('access', () => {
    it('makes min_privs 2 unreachable under none, with OCS detail on start', async () => {
      const { table, call } = makeTable();
      table.registerTask('guarded', { fn: async () => [true, 'ok'], minPrivs: 2 });
      expect(await call(['start', 'guarded'], { password: 'anything' })).toEqual([
        -1,
        'The action requires credential level 2-ADVANCED but the client has only level 1-BASIC No access policy -- level 1 for all.',
        {},
      ]);
    });

    it('checks override passwords on start and stop, not on wait or status', async () => {
      const { table, call } = makeTable({ accessPolicy: 'override:pw2,pw3' });
      table.registerProcess('guarded', {
        start: async (session) => {
          await session.sleep(10_000);
          return [true, 'ok'];
        },
        stop: async (session) => session.setStatus('stopping'),
        minPrivs: 2,
      });
      expect(await call(['start', 'guarded'])).toEqual([-1, 'The action requires credential level 2-ADVANCED but the client has only level 1-BASIC', {}]);
      expect(await call(['start', 'guarded', {}], { password: 'wrong' })).toEqual([
        -1,
        'The action requires credential level 2-ADVANCED but the client has only level 1-BASIC',
        {},
      ]);
      const started = await call(['start', 'guarded', {}], { password: 'pw2' });
      expect(started[2]).toMatchObject({ cred_level: 2 });
      expect((await call(['start', 'delay_task', {}], { password: 'pw3' }))[2]).toMatchObject({ cred_level: 3 });
      expect((await call(['status', 'guarded']))[0]).toBe(0);
      expect((await call(['wait', 'guarded'], { timeout: -1 }))[0]).toBe(1);
      expect(await call(['stop', 'guarded', {}])).toEqual([-1, 'The action requires credential level 2-ADVANCED but the client has only level 1-BASIC', {}]);
      expect((await call(['stop', 'guarded', {}], { password: 'pw3' }))[0]).toBe(0);
    });

    it('blocks everything under director until rules are set', async () => {
      const { table, call } = makeTable({ accessPolicy: 'director:' });
      expect(await call(['start', 'delay_task', {}])).toEqual([-1, 'The action requires credential level 1-BASIC but the client has only level 0-BLOCKED', {}]);
      table.access.setRules([{ hashed_pass: { hash: 'none', value: '' }, cred_level: 1 }]);
      expect((await call(['start', 'delay_task', {}]))[0]).toBe(0);
      expect(table.management('get_api')).toMatchObject({ access_control: { policy: 'director', update_count: 1 } });
    });

    it('shows min_privs as max(1, registered) on the wire', () => {
      const { table } = makeTable();
      table.registerTask('zero', { fn: async () => [true, ''], minPrivs: 0 });
      table.registerTask('three', { fn: async () => [true, ''], minPrivs: 3 });
      const tasks = table.management('get_tasks') as Array<[string, unknown, { min_privs: number }]>;
      expect(Object.fromEntries(tasks.map(([name, , info]) => [name, info.min_privs]))).toEqual({ delay_task: 1, three: 3, zero: 1 });
      expect(() => table.registerTask('bad', { fn: async () => [true, ''], minPrivs: 5 })).toThrow(/minPrivs must be an integer 0-4/);
    });
  });

  describe('startup ops', () => {
    function withStartup(policy: string) {
      const { table, call } = makeTable({ accessPolicy: policy });
      table.registerProcess('main', { start: async (s) => (await s.sleep(100_000), [true, '']), stop: async (s) => s.setStatus('stopping'), startup: true, minPrivs: 3 });
      table.registerTask('init', { fn: async (_s, p) => [true, JSON.stringify(p)], params: z.object({ level: z.number() }), startup: { level: 2 } });
      return { table, call };
    }

    it('lists and starts them once, at level 4 under a policy', async () => {
      const { table } = withStartup('override:a,b');
      expect(table.startupOps()).toEqual([
        { opName: 'main', opType: 'process', params: {} },
        { opName: 'init', opType: 'task', params: { level: 2 } },
      ]);
      const replies = await table.runStartupOps();
      expect(replies.map((r) => [r.opName, r.reply[0]])).toEqual([
        ['main', 0],
        ['init', 0],
      ]);
      expect(table.session('main')?.credLevel).toBe(4);
      await vi.advanceTimersByTimeAsync(0);
      expect(table.session('init')?.messages.map((m) => m[1])).toContain('{"level":2}');
      expect(await table.runStartupOps()).toEqual([]);
    });

    it('starts them at level 1 under none (so min_privs 3 is refused)', async () => {
      const { table } = withStartup('none');
      const replies = await table.runStartupOps();
      expect(replies[0]?.reply[0]).toBe(-1);
      expect(table.session('init')?.credLevel).toBe(1);
    });
  });

  describe('management', () => {
    it('answers get_api with OCS shape, order and placeholders', async () => {
      const { table, call } = makeTable({ accessPolicy: 'override:a,b' });
      await call(['start', 'acq', {}]);
      const api = table.management('get_api') as unknown as Record<string, unknown>;
      expect(Object.keys(api)).toEqual(['agent_class', 'instance_hostname', 'instance_pid', 'feeds', 'processes', 'tasks', 'access_control']);
      expect(api).toMatchObject({ agent_class: 'FakeDataAgent', instance_hostname: 'ocs-docker', instance_pid: 12345, feeds: [['false_temperatures', { record: true }]] });
      const processes = api['processes'] as Array<[string, Record<string, unknown>, Record<string, unknown>]>;
      expect(processes.map((p) => p[0])).toEqual(['acq', 'count']);
      expect(processes[0]?.[1]).toMatchObject({ session_id: 0, op_name: 'acq', status: 'starting' });
      expect(Object.keys(processes[0]?.[2] ?? {})).toEqual(['blocking', 'docstring', 'op_type', 'min_privs']);
      expect(processes[0]?.[2]).toEqual({ blocking: true, docstring: 'acq(test_mode=False)', op_type: 'process', min_privs: 1 });
      expect(processes[1]).toEqual(['count', { op_name: 'count', status: 'no_history' }, { blocking: false, docstring: null, op_type: 'process', min_privs: 1 }]);
      const tasks = api['tasks'] as Array<[string, Record<string, unknown>, Record<string, unknown>]>;
      expect(tasks).toHaveLength(1);
      expect(tasks[0]?.[1]).toEqual({ op_name: 'delay_task', status: 'no_history' });
      expect(Object.keys(tasks[0]?.[2] ?? {})).toEqual(['blocking', 'abortable', 'docstring', 'op_type', 'min_privs']);
      expect(tasks[0]?.[2]).toMatchObject({ blocking: false, abortable: true, op_type: 'task', min_privs: 1 });
      expect(tasks[0]?.[2]['docstring']).toMatch(/^delay_task\(delay=5, succeed=True\)/);
      expect(api['access_control']).toEqual({ version: 1, policy: 'override', update_timestamp: T0_S, update_count: 0, step: 0 });
      expect(JSON.parse(JSON.stringify(api))).toEqual(api);
    });

    it('sorts ops by name and marks tasks without an aborter', () => {
      const { table } = makeTable();
      table.registerTask('b_task', { fn: async () => [true, ''] });
      table.registerTask('a_task', { fn: async () => [true, ''] });
      const tasks = table.management('get_tasks') as Array<[string, unknown, { abortable: boolean }]>;
      expect(tasks.map((t) => [t[0], t[2].abortable])).toEqual([
        ['a_task', false],
        ['b_task', false],
        ['delay_task', true],
      ]);
    });

    it('answers the older queries and null for anything else', () => {
      const { table } = makeTable();
      expect((table.management('get_processes') as unknown[]).length).toBe(2);
      expect(table.management('get_feeds')).toEqual([['false_temperatures', { record: true }]]);
      expect(table.management('get_agent_class')).toBe('FakeDataAgent');
      expect(table.management('get_everything')).toBeNull();
      expect(table.management(7)).toBeNull();
    });
  });

  describe('op codes', () => {
    it('lists every op in registration order, never run as 1', async () => {
      const { table, call } = makeTable();
      expect(table.opCodes()).toEqual({ acq: 1, delay_task: 1, count: 1 });
      expect(Object.keys(table.opCodes())).toEqual(['acq', 'delay_task', 'count']);
      await call(['start', 'acq', {}]);
      await call(['start', 'delay_task', { delay: 1, succeed: false }]);
      expect(table.opCodes()).toEqual({ acq: 2, delay_task: 2, count: 1 });
      await vi.advanceTimersByTimeAsync(0);
      (table.session('acq') as OpSession).degraded = true;
      expect(table.opCodes()).toEqual({ acq: 8, delay_task: 3, count: 1 });
      await vi.advanceTimersByTimeAsync(1000);
      expect(table.opCodes()).toEqual({ acq: 8, delay_task: 6, count: 1 });
    });

    it('emits every op-code change', async () => {
      const { table, call } = makeTable();
      const changes: OpCodeChange[] = [];
      table.on(OP_CODE_CHANGED, (c) => changes.push(c));
      await call(['start', 'delay_task', { delay: 1 }]);
      await vi.advanceTimersByTimeAsync(1000);
      await call(['start', 'delay_task', { delay: 1 }]);
      await call(['start', 'delay_task', { delay: 1 }]);
      expect(changes.map((c) => [c.opName, c.sessionId, c.previousOpCode, c.opCode])).toEqual([
        ['delay_task', 0, 1, 2],
        ['delay_task', 0, 2, 3],
        ['delay_task', 0, 3, 5],
        ['delay_task', 1, 5, 2],
      ]);
    });

    it('keeps working when a listener throws', async () => {
      const { table, call } = makeTable();
      table.on(OP_CODE_CHANGED, () => {
        throw new Error('listener');
      });
      await call(['start', 'delay_task', { delay: 0 }]);
      await vi.advanceTimersByTimeAsync(10);
      expect(table.session('delay_task')?.status).toBe('done');
    });
  });

  describe('stopAll', () => {
    it('aborts tasks and stops processes, resolving when they are done', async () => {
      const { table, call } = makeTable();
      await call(['start', 'acq', {}]);
      await call(['start', 'delay_task', { delay: 100 }]);
      await vi.advanceTimersByTimeAsync(0);
      let isStopped = false;
      void table.stopAll().then(() => (isStopped = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(isStopped).toBe(true);
      expect(table.opCodes()).toEqual({ acq: 5, delay_task: 6, count: 1 });
      expect(vi.getTimerCount()).toBe(0);
    });

    it('gives up waiting after the bound, even under a blocking policy', async () => {
      const { table, call } = makeTable({ accessPolicy: 'override:a,b', stopAllTimeoutMs: 3000 });
      table.registerProcess('stubborn', {
        start: async (session) => {
          await session.sleep(3_600_000);
          await new Promise<void>((r) => setTimeout(r, 3_600_000));
          return [true, ''];
        },
        stop: async () => [true, 'ignored'],
        minPrivs: 3,
      });
      await call(['start', 'stubborn', {}], { password: 'b' });
      await vi.advanceTimersByTimeAsync(0);
      let isStopped = false;
      void table.stopAll().then(() => (isStopped = true));
      await vi.advanceTimersByTimeAsync(2999);
      expect(isStopped).toBe(false);
      expect(table.session('stubborn')?.stopRequested).toBe(true);
      await vi.advanceTimersByTimeAsync(1);
      expect(isStopped).toBe(true);
    });

    it('resolves at once with nothing running', async () => {
      const { table } = makeTable();
      await table.stopAll();
    });
  });

  it('refuses bad registrations', () => {
    const { table } = makeTable();
    expect(() => table.registerTask('acq', { fn: async () => [true, ''] })).toThrow('an op called "acq" is already registered');
    expect(() => table.registerProcess('p', { start: async () => [true, ''] } as never)).toThrow('process "p" needs a stop function');
    expect(() => table.registerTask('', { fn: async () => [true, ''] })).toThrow(/non-empty/);
  });
});
