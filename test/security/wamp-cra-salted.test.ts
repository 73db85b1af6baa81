/**
 * Threat: a salted WAMP-CRA user is meant to prove it knows the password through the key derived
 * from it (PBKDF2 with the user's salt), as crossbar checks it. Signing the challenge with the
 * raw password must not be accepted as well.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/errors.js';
import { parseRouterConfig } from '../../lib/router/config.js';
import { deriveCraKey } from '../../lib/router/index.js';
import { startTestRouter } from '../helpers/router.js';
import { RawSession } from '../integration/router/raw-session.js';

const PASSWORD = 'correct horse';
const SALT = 'pepper';

async function login(url: string, sign: (challenge: string) => string): Promise<unknown[]> {
  const s = await RawSession.open(url);
  s.send([1, 'test_realm', { authmethods: ['wampcra'], authid: 'dana', roles: { caller: {} } }]);
  const challenge = await s.next((m) => m[0] === 4);
  expect(challenge[2]).toMatchObject({ salt: SALT, iterations: 1000, keylen: 32 });
  s.send([5, sign((challenge[2] as { challenge: string }).challenge), {}]);
  return s.next((m) => m[0] === 2 || m[0] === 3);
}

const hmac = (key: string, challenge: string) => createHmac('sha256', Buffer.from(key, 'utf8')).update(challenge, 'utf8').digest('base64');

describe('salted WAMP-CRA', () => {
  it('accepts the signature made with the derived key and refuses one made with the raw password', async () => {
    const router = await startTestRouter({
      realms: [{ name: 'test_realm', roles: [{ name: 'user', permissions: [{ uri: '', match: 'prefix', allow: { call: true, register: false, publish: false, subscribe: false } }] }] }],
      auth: { wampcra: { users: { dana: { secret: deriveCraKey(PASSWORD, SALT), role: 'user', salt: SALT, iterations: 1000, keylen: 32 } } } },
    });
    const raw = await login(router.url, (c) => hmac(PASSWORD, c));
    expect(raw[0]).toBe(3);
    expect(raw[2]).toBe('wamp.error.not_authorized');
    // the key itself, sent as if it were a password, is refused too (the client would derive from it)
    const derivedTwice = await login(router.url, (c) => hmac(deriveCraKey(deriveCraKey(PASSWORD, SALT), SALT), c));
    expect(derivedTwice[0]).toBe(3);
    const derived = await login(router.url, (c) => hmac(deriveCraKey(PASSWORD, SALT), c));
    expect(derived[0]).toBe(2);
    expect(derived[2]).toMatchObject({ authid: 'dana', authrole: 'user', authmethod: 'wampcra' });
  });

  it('refuses a config holding a salted user’s password instead of the derived key, naming the path', () => {
    const config = () =>
      parseRouterConfig(
        {
          realms: [{ name: 'test_realm', roles: [{ name: 'user' }] }],
          auth: { wampcra: { users: { dana: { secret: PASSWORD, role: 'user', salt: SALT } } } },
        },
        'router.yaml',
      );
    expect(config).toThrow(ConfigError);
    expect(config).toThrow(/router\.yaml: auth\.wampcra\.users\.dana\.secret: a salted user's secret is the key derived from the password/);
  });
});
