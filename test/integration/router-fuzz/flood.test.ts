import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RawWampClient, WAMP } from '../../bench/lib/raw-wamp-client.js';
import { openTestSession, registerCleanup, startTestRouter } from '../../helpers/router.js';

/** One client blasting publishes must not stall another client's calls. */

const CALLS = 50;
const SOCKET_HIGH_WATER_BYTES = 1024 * 1024;

describe('router under a publish flood', () => {
  it("completes a second client's calls while a first one floods publishes", async () => {
    const router = await startTestRouter();
    const flooder = await RawWampClient.connect(router.url);
    registerCleanup(() => flooder.close());
    const subscriber = await RawWampClient.connect(router.url);
    registerCleanup(() => subscriber.close());
    let eventsReceived = 0;
    await subscriber.subscribe('flood.topic');
    subscriber.onFrame = (text) => {
      if (text.startsWith(`[${WAMP.EVENT},`)) {
        eventsReceived++;
        return true;
      }
      return false;
    };

    const callee = await openTestSession(router);
    const caller = await openTestSession(router);
    await callee.register('flood.double', (args) => (args![0] as number) * 2);

    // flood: as fast as the socket drains, yielding to the event loop between bursts
    let isFlooding = true;
    let published = 0;
    const payload = JSON.stringify(['x'.repeat(100), { n: 1 }]);
    const flood = (async () => {
      while (isFlooding && flooder.isOpen) {
        for (let burst = 0; burst < 500 && flooder.ws.bufferedAmount < SOCKET_HIGH_WATER_BYTES; burst++) {
          flooder.send(`[16,${flooder.requestId()},{},"flood.topic",${payload}]`);
          published++;
        }
        await yieldToLoop();
      }
    })();

    const results: number[] = [];
    try {
      while (published < 20_000 && flooder.isOpen) await sleep(10);
      for (let i = 0; i < CALLS; i++) results.push(await caller.call<number>('flood.double', [i]));
    } finally {
      isFlooding = false;
      await flood;
    }

    expect(results).toEqual(Array.from({ length: CALLS }, (_, i) => i * 2));
    expect(published).toBeGreaterThan(20_000);
    expect(eventsReceived).toBeGreaterThan(0);
    // the flooder did nothing wrong: it is still connected
    expect(flooder.isOpen).toBe(true);
  });
});
