import { beforeAll, describe, expect, it } from 'vitest';
import type { AutobahnSerializer } from '../../../lib/wamp/autobahn.js';
import { autobahnSerializers, openTestSession, startTestRouter, type TestRouter } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';

const SERIALIZERS = Object.entries(autobahnSerializers()) as [string, AutobahnSerializer][];

describe.each(SERIALIZERS)('router meta API over autobahn-js %s', (_name, serializer) => {
  let router: TestRouter;
  const open = () => openTestSession(router, { serializers: [serializer] });

  beforeAll(async () => {
    router = await startTestRouter();
  });

  it('publishes wamp.session.on_join with the details and on_leave with [session, authid, authrole]', async () => {
    const watcher = await open();
    const joins: unknown[][] = [];
    const leaves: unknown[][] = [];
    await watcher.subscribe('wamp.session.on_join', (args) => void joins.push(args ?? []));
    await watcher.subscribe('wamp.session.on_leave', (args) => void leaves.push(args ?? []));
    const other = await open();
    await waitFor(() => joins.some((a) => (a[0] as { session?: number }).session === other.id), { what: 'on_join' });
    const details = joins.find((a) => (a[0] as { session?: number }).session === other.id)![0] as Record<string, unknown>;
    expect(details).toMatchObject({ session: other.id, authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'static' });
    expect(typeof details['authid']).toBe('string');
    expect(details['transport']).toMatchObject({ type: 'websocket' });
    const otherId = other.id;
    other.leave('wamp.close.normal');
    await waitFor(() => leaves.some((a) => a[0] === otherId), { what: 'on_leave' });
    expect(leaves.find((a) => a[0] === otherId)).toEqual([otherId, details['authid'], 'anonymous']);
  });

  it('answers wamp.session.count, list and get, and no_such_session', async () => {
    const a = await open();
    const b = await open();
    const list = (await a.call('wamp.session.list')) as number[];
    expect(list).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(await a.call('wamp.session.count')).toBe(list.length);
    expect(await a.call('wamp.session.count', [['no-such-role']])).toBe(0);
    expect(await a.call('wamp.session.get', [b.id])).toMatchObject({ session: b.id, authrole: 'anonymous', authmethod: 'anonymous' });
    await expect(a.call('wamp.session.get', [123])).rejects.toMatchObject({ error: 'wamp.error.no_such_session' });
  });

  it('answers wamp.registration.list, lookup, match, get and list_callees', async () => {
    const callee = await open();
    const s = await open();
    const exact = await callee.register('meta.reg.exact', () => 1);
    const prefix = await callee.register('meta.reg.', () => 2, { match: 'prefix' });
    const wildcard = await callee.register('meta..wild', () => 3, { match: 'wildcard' });
    const list = (await s.call('wamp.registration.list')) as Record<string, number[]>;
    expect(list['exact']).toContain(exact.id);
    expect(list['prefix']).toContain(prefix.id);
    expect(list['wildcard']).toContain(wildcard.id);
    expect(await s.call('wamp.registration.lookup', ['meta.reg.exact'])).toBe(exact.id);
    expect(await s.call('wamp.registration.lookup', ['meta.reg.', { match: 'prefix' }])).toBe(prefix.id);
    expect(await s.call('wamp.registration.lookup', ['meta.reg.none'])).toBeNull();
    expect(await s.call('wamp.registration.match', ['meta.reg.exact'])).toBe(exact.id);
    expect(await s.call('wamp.registration.match', ['meta.reg.other'])).toBe(prefix.id);
    expect(await s.call('wamp.registration.match', ['meta.x.wild'])).toBe(wildcard.id);
    expect(await s.call('wamp.registration.match', ['nothing.here'])).toBeNull();
    expect(await s.call('wamp.registration.get', [exact.id])).toEqual({ id: exact.id, created: expect.any(String), uri: 'meta.reg.exact', match: 'exact', invoke: 'single' });
    expect(await s.call('wamp.registration.list_callees', [exact.id])).toEqual([callee.id]);
    expect(await s.call('wamp.registration.count_callees', [exact.id])).toBe(1);
    await expect(s.call('wamp.registration.get', [1])).rejects.toMatchObject({ error: 'wamp.error.no_such_registration' });
    await expect(s.call('wamp.registration.list_callees', [1])).rejects.toMatchObject({ error: 'wamp.error.no_such_registration' });
    // a pattern registration is invoked with the called URI in details.procedure
    expect(await s.call('meta.y.wild')).toBe(3);
  });

  it('answers wamp.subscription.list, lookup, match, get and list_subscribers', async () => {
    const a = await open();
    const b = await open();
    const exact = await a.subscribe('meta.sub.exact', () => {});
    await b.subscribe('meta.sub.exact', () => {});
    const wildcard = await a.subscribe('meta..exact', () => {}, { match: 'wildcard' });
    const list = (await a.call('wamp.subscription.list')) as Record<string, number[]>;
    expect(list['exact']).toContain(exact.id);
    expect(list['wildcard']).toContain(wildcard.id);
    expect(await a.call('wamp.subscription.lookup', ['meta.sub.exact'])).toBe(exact.id);
    expect(await a.call('wamp.subscription.lookup', ['meta..exact', { match: 'wildcard' }])).toBe(wildcard.id);
    expect(await a.call('wamp.subscription.lookup', ['meta.none'])).toBeNull();
    expect(((await a.call('wamp.subscription.match', ['meta.sub.exact'])) as number[]).sort()).toEqual([exact.id, wildcard.id].sort());
    expect(await a.call('wamp.subscription.match', ['meta.none'])).toBeNull();
    expect(await a.call('wamp.subscription.get', [exact.id])).toEqual({ id: exact.id, created: expect.any(String), uri: 'meta.sub.exact', match: 'exact' });
    expect(((await a.call('wamp.subscription.list_subscribers', [exact.id])) as number[]).sort()).toEqual([a.id, b.id].sort());
    expect(await a.call('wamp.subscription.count_subscribers', [exact.id])).toBe(2);
    await expect(a.call('wamp.subscription.get', [1])).rejects.toMatchObject({ error: 'wamp.error.no_such_subscription' });
    await expect(a.call('wamp.subscription.list_subscribers', [1])).rejects.toMatchObject({ error: 'wamp.error.no_such_subscription' });
  });

  it('announces the implemented broker and dealer features in WELCOME', async () => {
    const { RawSession } = await import('./raw-session.js');
    const s = await RawSession.join(router.url, router.realm);
    const roles = s.welcome['roles'] as Record<string, { features: Record<string, boolean> }>;
    expect(roles['broker']!.features).toMatchObject({ pattern_based_subscription: true, publisher_exclusion: true, subscriber_blackwhite_listing: true, publisher_identification: true, session_meta_api: true, subscription_meta_api: true });
    expect(roles['dealer']!.features).toMatchObject({ progressive_call_results: true, call_canceling: true, call_timeout: true, caller_identification: true, registration_meta_api: true, session_meta_api: true });
    expect(s.welcome).toMatchObject({ authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'static', realm: router.realm });
  });
});
