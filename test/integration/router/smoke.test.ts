import { describe, expect, it } from 'vitest';
import { startTestRouter, openTestSession, autobahnSerializers } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';

describe('smoke', () => {
  for (const [name, ser] of Object.entries(autobahnSerializers())) {
    it(`pubsub and rpc over ${name}`, async () => {
      const router = await startTestRouter();
      const a = await openTestSession(router, { serializers: [ser] });
      const b = await openTestSession(router, { serializers: [ser] });
      const got: unknown[] = [];
      await b.subscribe('observatory..feeds.heartbeat', (args, kwargs, details) => got.push([args, details.topic]), { match: 'wildcard' });
      await a.publish('observatory.agent-1.feeds.heartbeat', [[1, 2, 3]], {}, { acknowledge: true });
      await waitFor(() => got.length > 0);
      expect(got[0]).toEqual([[[1, 2, 3]], 'observatory.agent-1.feeds.heartbeat']);
      await b.register('x.echo', (args) => args![0]);
      expect(await a.call('x.echo', [[1, 2, 3]])).toEqual([1, 2, 3]);
      expect(await a.call('x.echo', [null])).toEqual(null);
      expect(await a.call('wamp.session.count')).toBe(2);
    });
  }
});
