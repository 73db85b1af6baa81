import { beforeAll } from 'vitest';
import { deriveCraKey, type RouterConfigInput } from '../../../lib/router/index.js';
import { assertPythonAutobahn } from '../../helpers/python-wamp.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';

const ALLOW_ALL = { call: true, register: true, publish: true, subscribe: true };

/**
 * The router the python3-autobahn suite runs against: anonymous sessions may do everything and
 * have caller and publisher disclosed; `joe` (ticket), `alice` (WAMP-CRA) and `bob` (salted
 * WAMP-CRA) get the `user` role, which may only use `com.allowed.` and read its own session.
 */
export const PYTHON_SUITE_CONFIG = {
  realms: [
    {
      name: 'test_realm',
      roles: [
        {
          name: 'anonymous',
          permissions: [{ uri: '', match: 'prefix' as const, allow: ALLOW_ALL, disclose: { caller: true, publisher: true } }],
        },
        {
          name: 'user',
          permissions: [
            { uri: 'com.allowed.', match: 'prefix' as const, allow: ALLOW_ALL },
            { uri: 'wamp.session.get', match: 'exact' as const, allow: { call: true, register: false, publish: false, subscribe: false } },
          ],
        },
      ],
    },
  ],
  auth: {
    anonymous: { role: 'anonymous' },
    ticket: { principals: { joe: { ticket: 'secret', role: 'user' } } },
    wampcra: {
      users: {
        alice: { secret: 's3', role: 'user' },
        // salted: the key derived from the password 's4', as crossbar's config holds it
        bob: { secret: deriveCraKey('s4', 'salt', 100, 32), role: 'user', salt: 'salt', iterations: 100, keylen: 32 },
      },
    },
  },
  http_bridge: { realm: 'test_realm', role: 'anonymous' },
  max_message_bytes: 16 * 1024 * 1024,
} satisfies RouterConfigInput;

/**
 * Starts a router for the calling test file (checking first that python3-autobahn is there, so
 * a missing package fails the file); it stops after the file. Returns a getter for it.
 */
export function usePythonSuiteRouter(config: RouterConfigInput = PYTHON_SUITE_CONFIG): () => TestRouter {
  let router: TestRouter | undefined;
  beforeAll(async () => {
    assertPythonAutobahn();
    router = await startTestRouter(config);
  });
  return () => {
    if (!router) throw new Error('router not started');
    return router;
  };
}
