import { describe, expect, it } from 'vitest';
import { observed, observedOne, runPythonScenario } from '../../helpers/python-wamp.js';
import { usePythonSuiteRouter } from './python-router.js';

const router = usePythonSuiteRouter();

describe.each(['json', 'msgpack'] as const)('router RPC seen from python3-autobahn (%s)', (serializer) => {
  it('relays calls, results, errors, progress and caller details, matches prefix registrations, refuses duplicates', async () => {
    const run = await runPythonScenario('rpc', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    const sessions = observedOne<{ caller: number; callee: number }>(run, 'sessions');
    expect(observedOne(run, 'add')).toBe(5);
    // RESULT carries exactly the callee's YIELD: args [5] and no kwargs element
    expect(observedOne(run, 'add_result_message')).toEqual({ args: [5], kwargs: null });
    expect(observedOne(run, 'none')).toBeNull();
    expect(observedOne(run, 'failed_call')).toEqual({
      error: 'py.error.custom',
      args: ['it broke', 42, { nested: [1, 2] }],
      kwargs: { reason: 'testing', code: 7 },
    });
    expect(observedOne(run, 'no_such_procedure')).toMatchObject({ error: 'wamp.error.no_such_procedure' });
    expect(observedOne(run, 'duplicate')).toMatchObject({ error: 'wamp.error.procedure_already_exists' });
    expect(observedOne(run, 'progressive')).toEqual({ progress: [0, 1, 2], final: 'done' });
    expect(observedOne(run, 'whoami')).toMatchObject({ caller: sessions.caller, caller_authrole: 'anonymous' });
    // a prefix registration tells the callee which procedure was called
    expect(observedOne(run, 'prefix_call')).toMatchObject({ caller: sessions.caller, procedure: 'py.rpc.any.thing' });
    expect(observedOne(run, 'after_unregister')).toMatchObject({ error: 'wamp.error.no_such_procedure' });
    expect(observedOne(run, 'reregistered')).toBe(42);
  });

  it('cancels calls (mode kill, the client default, and a call timeout) and interrupts the callee', async () => {
    const run = await runPythonScenario('cancel', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    expect(observedOne(run, 'kill')).toMatchObject({ error: 'wamp.error.canceled' });
    expect(observedOne(run, 'default')).toBe('wamp.error.canceled');
    expect(['wamp.error.canceled', 'wamp.error.timeout']).toContain(observedOne<{ error: string }>(run, 'timeout').error);
    expect(observedOne<string[]>(run, 'interrupted')).toEqual(expect.arrayContaining(['kill', 'timeout']));
  });

  it('fails a pending call with wamp.error.canceled when the callee leaves or drops', async () => {
    const run = await runPythonScenario('callee_disconnect', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    const errors = run.observations.filter((o) => 'error' in o).map((o) => [o['how'], (o['error'] as { error: string }).error]);
    expect(errors).toEqual([
      ['goodbye', 'wamp.error.canceled'],
      ['drop', 'wamp.error.canceled'],
    ]);
    const after = observed<{ error: string }>(run, 'after').map((e) => e.error);
    expect(after).toEqual(['wamp.error.no_such_procedure', 'wamp.error.no_such_procedure']);
  });
});
