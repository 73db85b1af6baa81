import { beforeAll, describe, expect, it } from 'vitest';
import { deriveCraKey, type RouterConfigInput } from '../../../lib/router/index.js';
import { autobahn, type AutobahnSerializer } from '../../../lib/wamp/autobahn.js';
import { WampConnection, type WampAuth } from '../../../lib/wamp/connection.js';
import { autobahnSerializers, openTestSession, registerCleanup, startTestRouter, type TestRouter } from '../../helpers/router.js';

const SERIALIZERS = Object.entries(autobahnSerializers()) as [string, AutobahnSerializer][];
const ALL = { call: true, register: true, publish: true, subscribe: true };

const CONFIG: RouterConfigInput = {
  realms: [
    {
      name: 'test_realm',
      roles: [
        { name: 'anonymous', permissions: [{ uri: '', match: 'prefix', allow: ALL }] },
        {
          name: 'user',
          permissions: [
            { uri: 'com.allowed.', match: 'prefix', allow: ALL },
            { uri: 'com.allowed.readonly', match: 'exact', allow: { call: true, subscribe: true } },
            { uri: 'wamp.session.count', match: 'exact', allow: { call: true } },
          ],
        },
      ],
    },
    { name: 'com.example.realm', roles: [{ name: 'user', permissions: [{ uri: '', match: 'prefix', allow: ALL }] }] },
  ],
  auth: {
    anonymous: { type: 'static', role: 'anonymous' },
    ticket: { type: 'static', principals: { joe: { ticket: 'joe-secret', role: 'user' } } },
    wampcra: {
      type: 'static',
      users: {
        alice: { secret: 'alice-secret', role: 'user' },
        // salted: the derived key in the config, as crossbar's config holds it
        bob: { secret: deriveCraKey('bob-password', 'bob-salt', 100, 32), role: 'user', salt: 'bob-salt', iterations: 100, keylen: 32 },
        carol: { secret: deriveCraKey('carol-password', 'carol-salt', 1000, 32), role: 'user', salt: 'carol-salt', iterations: 1000, keylen: 32 },
      },
    },
  },
};

describe('WAMP-CRA key derivation', () => {
  it('derives the same key as autobahn-js auth_cra.derive_key', () => {
    expect(deriveCraKey('secret', 'salt', 100, 32)).toBe(autobahn.auth_cra.derive_key('secret', 'salt', 100, 32));
    expect(deriveCraKey('pä$$wörd', 'sälz', 1000, 16)).toBe(autobahn.auth_cra.derive_key('pä$$wörd', 'sälz', 1000, 16));
  });
});

// the realms, roles and principals below are this router's own configuration
describe.each(SERIALIZERS)('router authentication and authorization over autobahn-js %s', (_name, serializer) => {
  let router: TestRouter;

  beforeAll(async () => {
    router = await startTestRouter(CONFIG);
  });

  async function join(auth: WampAuth | undefined, realm = 'test_realm') {
    const conn = new WampConnection({ url: router.url, realm, auth, serializers: [serializer] });
    registerCleanup(() => conn.close());
    return conn.open();
  }

  async function refusal(auth: WampAuth | undefined, realm = 'test_realm'): Promise<string | undefined> {
    try {
      await join(auth, realm);
    } catch (e) {
      return (e as { details?: { reason?: string } }).details?.reason;
    }
    throw new Error('the join was accepted');
  }

  it.each([
    ['ticket', { authid: 'joe', method: 'ticket', secret: 'joe-secret' }],
    ['WAMP-CRA', { authid: 'alice', method: 'wampcra', secret: 'alice-secret' }],
    ['salted WAMP-CRA', { authid: 'bob', method: 'wampcra', secret: 'bob-password' }],
    ['salted WAMP-CRA (1000 iterations)', { authid: 'carol', method: 'wampcra', secret: 'carol-password' }],
  ] as [string, WampAuth][])('accepts %s and assigns the configured role', async (_what, auth) => {
    const session = await join(auth);
    const details = (await session.call('wamp.session.count')) as number;
    expect(details).toBeGreaterThanOrEqual(1);
    const anon = await openTestSession(router, { serializers: [serializer] });
    expect(await anon.call('wamp.session.get', [session.id])).toMatchObject({ authid: auth.authid, authrole: 'user', authmethod: auth.method, authprovider: 'static' });
  });

  it.each([
    ['a wrong ticket', { authid: 'joe', method: 'ticket', secret: 'nope' }],
    ['a ticket for an unknown principal', { authid: 'nobody', method: 'ticket', secret: 'joe-secret' }],
    ['a wrong WAMP-CRA secret', { authid: 'alice', method: 'wampcra', secret: 'nope' }],
    ['a wrong salted WAMP-CRA secret', { authid: 'bob', method: 'wampcra', secret: 'alice-secret' }],
    ['WAMP-CRA for an unknown user', { authid: 'nobody', method: 'wampcra', secret: 'x' }],
  ] as [string, WampAuth][])('refuses %s with ABORT wamp.error.not_authorized', async (_what, auth) => {
    expect(await refusal(auth)).toBe('wamp.error.not_authorized');
  });

  it('refuses an unknown realm with wamp.error.no_such_realm', async () => {
    expect(await refusal(undefined, 'no.such.realm')).toBe('wamp.error.no_such_realm');
  });

  it('refuses anonymous on a realm that lacks the anonymous role', async () => {
    expect(await refusal(undefined, 'com.example.realm')).toBe('wamp.error.no_such_role');
    const s = await join({ authid: 'joe', method: 'ticket', secret: 'joe-secret' }, 'com.example.realm');
    expect(s.isOpen).toBe(true);
  });

  it('denies actions outside the role permissions with wamp.error.not_authorized', async () => {
    const user = await join({ authid: 'joe', method: 'ticket', secret: 'joe-secret' });
    const anon = await openTestSession(router, { serializers: [serializer] });
    await anon.register('com.other.proc', () => 'x');
    await anon.register('com.allowed.readonly', () => 'ro');
    const denied = { error: 'wamp.error.not_authorized' };
    await expect(user.call('com.other.proc')).rejects.toMatchObject(denied);
    await expect(user.register('com.other.mine', () => 1)).rejects.toMatchObject(denied);
    await expect(user.subscribe('com.other.topic', () => {})).rejects.toMatchObject(denied);
    await expect(user.publish('com.other.topic', [], {}, { acknowledge: true })).rejects.toMatchObject(denied);
    await expect(user.call('wamp.session.list')).rejects.toMatchObject(denied);
    // the exact rule beats the prefix rule: call and subscribe only
    expect(await user.call('com.allowed.readonly')).toBe('ro');
    await expect(user.register('com.allowed.readonly', () => 1)).rejects.toMatchObject(denied);
    await expect(user.publish('com.allowed.readonly', [], {}, { acknowledge: true })).rejects.toMatchObject(denied);
    // and the prefix rule allows the rest
    await user.register('com.allowed.mine', () => 'mine');
    expect(await anon.call('com.allowed.mine')).toBe('mine');
    await user.subscribe('com.allowed.topic', () => {});
    await user.publish('com.allowed.topic', [], {}, { acknowledge: true });
  });
});
