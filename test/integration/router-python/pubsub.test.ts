import { describe, expect, it } from 'vitest';
import { observed, observedOne, runPythonScenario } from '../../helpers/python-wamp.js';
import { usePythonSuiteRouter } from './python-router.js';

const router = usePythonSuiteRouter();

interface EventSeen {
  match: string;
  topic: string;
  args: unknown[];
}

describe.each(['json', 'msgpack'] as const)('router pub/sub seen from python3-autobahn (%s)', (serializer) => {
  it('delivers wildcard and prefix matches with details.topic, and nothing else', async () => {
    const run = await runPythonScenario('pubsub_patterns', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    const events = observed<EventSeen>(run, 'event');
    const wildcard = events.filter((e) => e.match === 'wildcard').map((e) => e.topic);
    const prefix = events.filter((e) => e.match === 'prefix').map((e) => e.topic);
    expect(wildcard).toEqual(['observatory.agent-1.feeds.heartbeat', 'observatory.agent-2.feeds.heartbeat']);
    // a prefix is a plain string prefix: com.a.emergency-low matches com.a.emergency
    expect(prefix).toEqual(['com.a.emergency', 'com.a.emergency.fire', 'com.a.emergency-low']);
    for (const e of events) expect(e.args).toEqual([e.topic]);
  });

  it('honours exclude_me, exclude, eligible and acknowledge, and discloses the publisher', async () => {
    const run = await runPythonScenario('pubsub_options', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    expect(observedOne(run, 'events')).toEqual({
      a: ['include_me', 'exclude_b', 'end'],
      b: ['default', 'include_me', 'eligible_b', null, 'end'],
    });
    const disclosure = observedOne<{ publisher: number; publisher_session: number }>(run, 'disclosure');
    expect(disclosure.publisher).toBe(disclosure.publisher_session);
    // the payload-less event reached python with no args and no kwargs (not nulls)
    expect(observedOne(run, 'empty_event')).toMatchObject({ args: [], kwargs: {} });
  });

  it('relays payloads unchanged between serializers, through events, invocations and results', async () => {
    const run = await runPythonScenario('payloads', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    const seen = run.observations.filter((o) => 'payload' in o) as { payload: string; path: string; args_repr: string; kwargs_repr: string; same: boolean }[];
    const expected: Record<string, [string, string]> = {
      nested_list: ['[[1, 2, 3]]', '{}'],
      null_arg: ['[None]', '{}'],
      kwargs_only: ['[]', "{'a': 1, 'b': {'c': [1, 'x']}, 'n': None}"],
      floats: ['[1.0, -2.0, 0.5, 1e+300, 0.0]', "{'f': 3.0}"],
      large_ints: ['[9007199254740992, -9007199254740992, 9007199254740991]', "{'big': 9007199254740992}"],
      unicode: ["['héllo wörld ✓ 日本語 🚀', 'ÿ']", "{'ключ': 'значение'}"],
      mixed: ["[1, 'two', 3.0, True, False, None, {'x': [1.5, {'y': 2}]}]", "{'k': [1.0, 2]}"],
      empty: ['[]', '{}'],
    };
    expect(seen).toHaveLength(Object.keys(expected).length * 3);
    for (const s of seen) {
      expect({ payload: s.payload, path: s.path, args: s.args_repr, kwargs: s.kwargs_repr, same: s.same }).toEqual({
        payload: s.payload,
        path: s.path,
        args: expected[s.payload]![0],
        kwargs: expected[s.payload]![1],
        same: true,
      });
    }
  });
});
