import { beforeAll, describe, expect, it } from 'vitest';
import type { AutobahnSerializer, AutobahnSession, EventDetails } from '../../../lib/wamp/autobahn.js';
import { autobahnSerializers, openTestSession, startTestRouter, type TestRouter } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';

interface Received {
  args: unknown[] | undefined;
  kwargs: Record<string, unknown> | undefined;
  details: EventDetails;
}

const SERIALIZERS = Object.entries(autobahnSerializers()) as [string, AutobahnSerializer][];

describe.each(SERIALIZERS)('router broker over autobahn-js %s', (_name, serializer) => {
  let router: TestRouter;
  const open = () => openTestSession(router, { serializers: [serializer] });
  const collector = () => {
    const got: Received[] = [];
    return { got, handler: (args: unknown[] | undefined, kwargs: Record<string, unknown> | undefined, details: EventDetails) => void got.push({ args, kwargs, details }) };
  };

  beforeAll(async () => {
    router = await startTestRouter();
  });

  /**
   * Returns once every event `pub` published so far has reached `subs`: a marker published after
   * them on a topic of its own arrives after them (events from one publisher reach a subscriber in
   * publication order, across topics), so what has not arrived by then was not sent.
   */
  let barriers = 0;
  async function afterEarlierEvents(pub: AutobahnSession, subs: AutobahnSession[]): Promise<void> {
    const topic = `barrier.topic${++barriers}`;
    const arrived = new Set<AutobahnSession>();
    for (const s of subs) await s.subscribe(topic, () => void arrived.add(s));
    await pub.publish(topic, [], {}, { acknowledge: true, exclude_me: false });
    await waitFor(() => arrived.size === subs.length, { what: `the marker event on ${topic}` });
  }

  it('delivers a wildcard match on observatory..feeds.heartbeat with details.topic', async () => {
    const sub = await open();
    const pub = await open();
    const c = collector();
    await sub.subscribe('observatory..feeds.heartbeat', c.handler, { match: 'wildcard' });
    await pub.publish('observatory.agent-1.feeds.heartbeat', [[{ op: 0 }, { feed: 'heartbeat' }]], {}, { acknowledge: true });
    await pub.publish('observatory.agent-1.feeds.other', [1], {}, { acknowledge: true });
    await pub.publish('observatory.a.b.feeds.heartbeat', [2], {}, { acknowledge: true });
    await afterEarlierEvents(pub, [sub]);
    expect(c.got).toHaveLength(1);
    expect(c.got[0]!.args).toEqual([[{ op: 0 }, { feed: 'heartbeat' }]]);
    expect(c.got[0]!.details.topic).toBe('observatory.agent-1.feeds.heartbeat');
  });

  it('delivers prefix matches by plain string prefix, with details.topic, and exact matches', async () => {
    const sub = await open();
    const pub = await open();
    const prefix = collector();
    const exact = collector();
    await sub.subscribe('com.a.emergency', prefix.handler, { match: 'prefix' });
    await sub.subscribe('com.a.emergency', exact.handler);
    for (const t of ['com.a.emergency', 'com.a.emergency-low', 'com.a.emergency.fire', 'com.a.other']) await pub.publish(t, [t], {}, { acknowledge: true });
    await afterEarlierEvents(pub, [sub]);
    expect(prefix.got.map((e) => [e.args?.[0], e.details.topic])).toEqual([
      ['com.a.emergency', 'com.a.emergency'],
      ['com.a.emergency-low', 'com.a.emergency-low'],
      ['com.a.emergency.fire', 'com.a.emergency.fire'],
    ]);
    expect(exact.got.map((e) => e.args?.[0])).toEqual(['com.a.emergency']);
  });

  it('gives every subscriber of the same (uri, match) one subscription ID', async () => {
    const a = await open();
    const b = await open();
    const sa = await a.subscribe('shared.topic', () => {});
    const sb = await b.subscribe('shared.topic', () => {});
    const sw = await b.subscribe('shared.', () => {}, { match: 'prefix' });
    expect(sa.id).toBe(sb.id);
    expect(sw.id).not.toBe(sa.id);
  });

  it('relays payloads unchanged: nested lists, null, unicode, kwargs, large ints', async () => {
    const sub = await open();
    const pub = await open();
    const c = collector();
    await sub.subscribe('payload.topic', c.handler);
    const payloads: [unknown[], Record<string, unknown>][] = [
      [[[1, 2, 3]], {}],
      [[null], {}],
      [[], { a: [1, { b: null }], 'ü€': 'ü€😀' }],
      [[2 ** 53, -(2 ** 53), 1.5, true, ''], { big: 2 ** 40 }],
      [[[[]], {}], {}],
    ];
    for (const [args, kwargs] of payloads) await pub.publish('payload.topic', args, kwargs, { acknowledge: true });
    await waitFor(() => c.got.length === payloads.length, { what: 'all payload events' });
    payloads.forEach(([args, kwargs], i) => {
      expect(c.got[i]!.args).toEqual(args);
      expect(c.got[i]!.kwargs ?? {}).toEqual(kwargs);
    });
  });

  it('relays small, medium and large payloads intact (all WebSocket length encodings)', async () => {
    const sub = await open();
    const pub = await open();
    const c = collector();
    await sub.subscribe('sizes.topic', c.handler);
    const sizes = [10, 125, 126, 20_000, 65_535, 70_000, 300_000];
    for (const n of sizes) await pub.publish('sizes.topic', ['x'.repeat(n), n], {}, { acknowledge: true });
    await waitFor(() => c.got.length === sizes.length, { what: 'all sized events' });
    expect(c.got.map((e) => [(e.args?.[0] as string).length, e.args?.[1]])).toEqual(sizes.map((n) => [n, n]));
    expect(c.got.every((e) => /^x*$/.test(e.args?.[0] as string))).toBe(true);
  });

  it('excludes the publisher by default and includes it with exclude_me false', async () => {
    const s = await open();
    const c = collector();
    await s.subscribe('self.topic', c.handler);
    await s.publish('self.topic', ['excluded'], {}, { acknowledge: true });
    await s.publish('self.topic', ['included'], {}, { acknowledge: true, exclude_me: false });
    await afterEarlierEvents(s, [s]);
    expect(c.got.map((e) => e.args?.[0])).toEqual(['included']);
  });

  it('honours exclude and eligible lists and discloses the publisher on request', async () => {
    const pub = await open();
    const a = await open();
    const b = await open();
    const ca = collector();
    const cb = collector();
    await a.subscribe('bw.topic', ca.handler);
    await b.subscribe('bw.topic', cb.handler);
    await pub.publish('bw.topic', ['not a'], {}, { acknowledge: true, exclude: [a.id] });
    await pub.publish('bw.topic', ['only a'], {}, { acknowledge: true, eligible: [a.id] });
    await pub.publish('bw.topic', ['disclosed'], {}, { acknowledge: true, disclose_me: true, eligible: [b.id] });
    await afterEarlierEvents(pub, [a, b]);
    expect(ca.got.map((e) => e.args?.[0])).toEqual(['only a']);
    expect(cb.got.map((e) => e.args?.[0])).toEqual(['not a', 'disclosed']);
    expect(cb.got[0]!.details.publisher).toBeUndefined();
    expect(cb.got[1]!.details.publisher).toBe(pub.id);
  });

  it('acknowledges a publication with its ID and stops delivering after unsubscribe', async () => {
    const pub = await open();
    const sub = await open();
    const c = collector();
    const subscription = await sub.subscribe('unsub.topic', c.handler);
    const ack = await pub.publish('unsub.topic', [1], {}, { acknowledge: true });
    expect(typeof ack?.id).toBe('number');
    await waitFor(() => c.got.length === 1, { what: 'first event' });
    await sub.unsubscribe(subscription);
    await pub.publish('unsub.topic', [2], {}, { acknowledge: true });
    await afterEarlierEvents(pub, [sub]);
    expect(c.got).toHaveLength(1);
  });

  it('refuses invalid topic URIs with wamp.error.invalid_uri', async () => {
    const s = await open();
    await expect(s.subscribe('a..b', () => {})).rejects.toMatchObject({ error: 'wamp.error.invalid_uri' });
    await expect(s.subscribe('a b', () => {}, { match: 'wildcard' })).rejects.toMatchObject({ error: 'wamp.error.invalid_uri' });
    await expect(s.publish('a..b', [], {}, { acknowledge: true })).rejects.toMatchObject({ error: 'wamp.error.invalid_uri' });
  });
});
