import { describe, expect, it } from 'vitest';
import { observed, observedOne, runPythonScenario, type PythonRun } from '../../helpers/python-wamp.js';
import { usePythonSuiteRouter } from './python-router.js';

const router = usePythonSuiteRouter();

interface MetaEvent {
  event: string;
  args: unknown[];
}

/** Meta events about one registration or subscription id, as [event, args]. */
function metaEventsFor(run: PythonRun, id: number, uri: string): [string, unknown[]][] {
  return observed<MetaEvent>(run, 'meta_event')
    .filter((e) => e.args[1] === id || (typeof e.args[1] === 'object' && e.args[1] !== null && (e.args[1] as { uri?: string }).uri === uri))
    .map((e) => [e.event, e.args]);
}

describe.each(['json', 'msgpack'] as const)('router meta API seen from python3-autobahn (%s)', (serializer) => {
  it('welcomes with the session details and announces the advanced features', async () => {
    const run = await runPythonScenario('join', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    const welcome = observedOne<Record<string, unknown>>(run, 'welcome');
    expect(welcome).toMatchObject({ authrole: 'anonymous', authmethod: 'anonymous' });
    expect(typeof welcome['authid']).toBe('string');
    expect(welcome['broker_features']).toEqual(
      expect.arrayContaining([
        'pattern_based_subscription',
        'publisher_exclusion',
        'subscriber_blackwhite_listing',
        'publisher_identification',
        'session_meta_api',
        'subscription_meta_api',
      ]),
    );
    expect(welcome['dealer_features']).toEqual(
      expect.arrayContaining([
        'progressive_call_results',
        'call_canceling',
        'call_timeout',
        'caller_identification',
        'session_meta_api',
        'registration_meta_api',
      ]),
    );
    expect(observedOne(run, 'own_session')).toMatchObject({ session: welcome['session'], authrole: 'anonymous' });
  });

  it('publishes on_join and on_leave and answers session count, list and get', async () => {
    const run = await runPythonScenario('session_meta', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    const other = observedOne<number>(run, 'other_session');
    const onJoin = observedOne<Record<string, unknown>>(run, 'on_join');
    expect(onJoin).toMatchObject({ session: other, authrole: 'anonymous', authmethod: 'anonymous' });
    const before = observedOne<number>(run, 'count_before');
    expect(observedOne(run, 'count_during')).toBe(before + 1);
    expect(observedOne(run, 'count_after')).toBe(before);
    expect(observedOne<number[]>(run, 'list')).toContain(other);
    expect(observedOne(run, 'get')).toMatchObject({ session: other, authid: onJoin['authid'], authrole: 'anonymous' });
    expect(observedOne(run, 'get_missing')).toMatchObject({ error: 'wamp.error.no_such_session' });
    expect(observedOne(run, 'on_leave')).toEqual([other, onJoin['authid'], 'anonymous']);
  });

  it('answers the registration meta procedures and publishes registration meta events', async () => {
    const run = await runPythonScenario('registration_meta', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    const id = observedOne<number>(run, 'registration');
    const owner = observedOne<number>(run, 'owner');
    const list = observedOne<{ exact: number[]; prefix: number[]; wildcard: number[] }>(run, 'list');
    expect(list.exact).toContain(id);
    expect(list.prefix).toHaveLength(1);
    expect(list.wildcard).toEqual([]);
    expect(observedOne(run, 'lookup')).toBe(id);
    expect(observedOne(run, 'lookup_missing')).toBeNull();
    expect(observedOne(run, 'match')).toBe(id);
    expect(observedOne(run, 'get')).toMatchObject({ id, uri: 'py.meta.proc', match: 'exact', invoke: 'single' });
    expect(observedOne(run, 'get_missing')).toMatchObject({ error: 'wamp.error.no_such_registration' });
    expect(observedOne(run, 'list_callees')).toEqual([owner]);
    expect(observedOne(run, 'count_callees')).toBe(1);
    const events = metaEventsFor(run, id, 'py.meta.proc');
    expect(events.map(([e]) => e)).toEqual(['on_create', 'on_register', 'on_unregister', 'on_delete']);
    expect(events[0]![1]).toEqual([owner, expect.objectContaining({ id, uri: 'py.meta.proc', match: 'exact' })]);
    for (const [, args] of events.slice(1)) expect(args).toEqual([owner, id]);
  });

  it('answers the subscription meta procedures and publishes subscription meta events', async () => {
    const run = await runPythonScenario('subscription_meta', router().url, { serializer });
    expect(run.failure).toBeUndefined();
    const id = observedOne<number>(run, 'subscription');
    const owner = observedOne<number>(run, 'owner');
    const list = observedOne<{ exact: number[]; prefix: number[]; wildcard: number[] }>(run, 'list');
    expect(list.wildcard).toContain(id);
    expect(observedOne(run, 'lookup')).toBe(id);
    expect(observedOne(run, 'match')).toEqual([id]);
    expect(observedOne(run, 'get')).toMatchObject({ id, uri: 'py.meta..topic', match: 'wildcard' });
    expect(observedOne(run, 'get_missing')).toMatchObject({ error: 'wamp.error.no_such_subscription' });
    expect(observedOne(run, 'list_subscribers')).toEqual([owner]);
    expect(observedOne(run, 'count_subscribers')).toBe(1);
    const events = metaEventsFor(run, id, 'py.meta..topic');
    expect(events.map(([e]) => e)).toEqual(['on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete']);
    expect(events[0]![1]).toEqual([owner, expect.objectContaining({ id, uri: 'py.meta..topic', match: 'wildcard' })]);
    for (const [, args] of events.slice(1)) expect(args).toEqual([owner, id]);
  });
});
