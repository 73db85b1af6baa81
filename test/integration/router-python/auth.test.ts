import { describe, expect, it } from 'vitest';
import { observed, observedOne, runPythonScenario } from '../../helpers/python-wamp.js';
import { PYTHON_SUITE_CONFIG, usePythonSuiteRouter } from './python-router.js';

/** Bad credentials: crossbar answers wamp.error.not_authorized; the spec's own URI is also fine. */
const REFUSAL_REASONS = ['wamp.error.not_authorized', 'wamp.error.authentication_failed'];

const { anonymous: _anonymous, ...authWithoutAnonymous } = PYTHON_SUITE_CONFIG.auth;
const router = usePythonSuiteRouter();
/** The same router without anonymous access. */
const closedRouter = usePythonSuiteRouter({ ...PYTHON_SUITE_CONFIG, auth: authWithoutAnonymous });

type Auth = { method: 'ticket' | 'wampcra'; authid: string; secret: string };

describe.each(['json', 'msgpack'] as const)('router authentication seen from python3-autobahn (%s)', (serializer) => {
  const join = (auth?: Auth, url = router().url) => runPythonScenario('auth', url, { serializer, opts: auth ? { auth } : {} });

  it.each([
    ['ticket', { method: 'ticket', authid: 'joe', secret: 'secret' }],
    ['WAMP-CRA', { method: 'wampcra', authid: 'alice', secret: 's3' }],
    ['salted WAMP-CRA', { method: 'wampcra', authid: 'bob', secret: 's4' }],
  ] as [string, Auth][])('accepts %s with the right secret and assigns the configured role', async (_label, auth) => {
    const run = await join(auth);
    expect(run.failure).toBeUndefined();
    expect(observedOne(run, 'joined')).toMatchObject({ authid: auth.authid, authrole: 'user', authmethod: auth.method });
    expect(observedOne(run, 'own_session')).toEqual({ authid: auth.authid, authrole: 'user' });
  });

  it.each([
    ['a wrong ticket', { method: 'ticket', authid: 'joe', secret: 'nope' }],
    ['a ticket for an unknown principal', { method: 'ticket', authid: 'mallory', secret: 'secret' }],
    ['a wrong WAMP-CRA secret', { method: 'wampcra', authid: 'alice', secret: 'nope' }],
    ['a wrong salted WAMP-CRA secret', { method: 'wampcra', authid: 'bob', secret: 's3' }],
    ['WAMP-CRA for an unknown user', { method: 'wampcra', authid: 'mallory', secret: 's3' }],
  ] as [string, Auth][])('refuses %s with ABORT', async (_label, auth) => {
    const run = await join(auth);
    expect(run.failure).toBeUndefined();
    expect(observed(run, 'joined')).toEqual([]);
    expect(REFUSAL_REASONS).toContain(observedOne<{ reason: string }>(run, 'refused').reason);
  });

  it('joins anonymously when the realm allows it', async () => {
    const run = await join();
    expect(run.failure).toBeUndefined();
    expect(observedOne(run, 'joined')).toMatchObject({ authrole: 'anonymous', authmethod: 'anonymous' });
  });

  it('refuses anonymous sessions with wamp.error.no_auth_method when anonymous is not configured', async () => {
    const run = await join(undefined, closedRouter().url);
    expect(run.failure).toBeUndefined();
    expect(observedOne(run, 'refused')).toMatchObject({ reason: 'wamp.error.no_auth_method' });
  });

  it('still authenticates ticket users on a router without anonymous access', async () => {
    const run = await join({ method: 'ticket', authid: 'joe', secret: 'secret' }, closedRouter().url);
    expect(run.failure).toBeUndefined();
    expect(observedOne(run, 'joined')).toMatchObject({ authid: 'joe', authrole: 'user' });
  });

  it('denies calls, registrations, subscriptions and publications outside the role permissions', async () => {
    const run = await runPythonScenario('authorization', router().url, {
      serializer,
      opts: { auth: { method: 'ticket', authid: 'joe', secret: 'secret' }, allowed: 'com.allowed.', denied: 'com.denied.' },
    });
    expect(run.failure).toBeUndefined();
    const outcomes = observed<{ action: string; uri: string; outcome: string }>(run, 'attempt').map((a) => `${a.action} ${a.uri} ${a.outcome}`);
    expect(outcomes).toEqual([
      'register com.allowed.proc ok',
      'call com.allowed.proc ok',
      'subscribe com.allowed.topic ok',
      'publish com.allowed.topic ok',
      'register com.denied.proc wamp.error.not_authorized',
      'call com.denied.proc wamp.error.not_authorized',
      'subscribe com.denied.topic wamp.error.not_authorized',
      'publish com.denied.topic wamp.error.not_authorized',
    ]);
    expect(observedOne(run, 'still_joined')).toBe(true);
  });
});
