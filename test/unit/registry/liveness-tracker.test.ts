import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AfterPendingInput } from '../../../lib/registry/after-pending-input.js';
import { LivenessTracker } from '../../../lib/registry/liveness-tracker.js';
import type { LivenessTrackerOptions } from '../../../lib/registry/liveness-tracker-options.js';
import type { AgentStatusEvent } from '../../../lib/registry/agent-status-event.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import { confirmAtOnce, heartbeat } from './heartbeat-fixture.js';
import { recordingLogger } from './recording-logger.js';

const T0_MS = 1_700_000_000_000;
const T0_S = T0_MS / 1000;

describe('LivenessTracker', () => {
  let tracker: LivenessTracker;
  let events: AgentStatusEvent[];
  let logger: ReturnType<typeof recordingLogger>;

  function makeTracker(options: Partial<LivenessTrackerOptions> = {}): LivenessTracker {
    tracker?.close();
    logger = recordingLogger();
    tracker = new LivenessTracker({ addressRoot: 'observatory', logger, afterPendingInput: confirmAtOnce, ...options });
    events = [];
    tracker.on('change', (ev) => events.push(ev));
    return tracker;
  }

  const names = (): string[] => events.map((e) => e.event);

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0_MS);
    makeTracker();
  });

  afterEach(() => {
    tracker.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  describe('expiry', () => {
    it('expires an agent exactly agentTimeoutMs after its last heartbeat', async () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3, count: 1 }));
      await vi.advanceTimersByTimeAsync(4999);
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      expect(names()).toEqual(['agent.appeared']);
      await vi.advanceTimersByTimeAsync(1);
      expect(tracker.record('observatory.a')).toEqual({
        expired: true,
        time_expired: T0_S + 5,
        last_updated: T0_S,
        op_codes: { acq: 7, count: 7 },
        agent_class: 'FakeDataAgent',
        agent_address: 'observatory.a',
      });
      expect(events[1]).toEqual({
        event: 'agent.expired',
        agent_address: 'observatory.a',
        agent_class: 'FakeDataAgent',
        time: T0_S + 5,
        session_id: 'session-a',
        op_codes_before: { acq: 3, count: 1 },
        record: tracker.record('observatory.a'),
      });
    });

    it('keeps a beating agent live and expires it 5 s after the last beat', async () => {
      for (let i = 0; i < 20; i++) {
        tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
        await vi.advanceTimersByTimeAsync(1000);
      }
      // last beat was 1000 ms ago
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      await vi.advanceTimersByTimeAsync(3999);
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(tracker.record('observatory.a')?.expired).toBe(true);
      expect(tracker.record('observatory.a')?.time_expired).toBe(T0_S + 24);
      expect(names()).toEqual(['agent.appeared', 'agent.expired']);
    });

    it('uses the configured timeout', async () => {
      makeTracker({ agentTimeoutMs: 500 });
      tracker.onHeartbeat(heartbeat('observatory.a', {}));
      await vi.advanceTimersByTimeAsync(499);
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(tracker.record('observatory.a')?.expired).toBe(true);
    });

    it('recovers an expired agent on its next heartbeat', async () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3, count: 1 }));
      await vi.advanceTimersByTimeAsync(8000);
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3, count: 5 }));
      expect(tracker.record('observatory.a')).toEqual({
        expired: false,
        time_expired: null,
        last_updated: T0_S + 8,
        op_codes: { acq: 3, count: 5 },
        agent_class: 'FakeDataAgent',
        agent_address: 'observatory.a',
      });
      expect(names()).toEqual(['agent.appeared', 'agent.expired', 'agent.recovered']);
      expect(events[2]).toMatchObject({
        event: 'agent.recovered',
        time: T0_S + 8,
        time_expired_before: T0_S + 5,
        op_codes_before: { acq: 7, count: 7 },
      });
      await vi.advanceTimersByTimeAsync(4999);
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(tracker.record('observatory.a')?.expired).toBe(true);
    });

    it('expires each agent on its own deadline', async () => {
      tracker.onHeartbeat(heartbeat('observatory.a', {}));
      await vi.advanceTimersByTimeAsync(2000);
      tracker.onHeartbeat(heartbeat('observatory.b', {}));
      await vi.advanceTimersByTimeAsync(3000);
      expect(tracker.records().map((r) => [r.agent_address, r.expired])).toEqual([
        ['observatory.a', true],
        ['observatory.b', false],
      ]);
      await vi.advanceTimersByTimeAsync(2000);
      expect(tracker.record('observatory.b')?.time_expired).toBe(T0_S + 7);
    });
  });

  describe('expiry confirmation', () => {
    /** Stands for "the input that had arrived has been handled": the test runs it. */
    function manualConfirmation() {
      const queue = new Set<() => void>();
      const afterPendingInput: AfterPendingInput = (fn) => {
        queue.add(fn);
        return () => queue.delete(fn);
      };
      const run = (): void => {
        const due = [...queue];
        queue.clear();
        for (const fn of due) fn();
      };
      return { afterPendingInput, run, size: () => queue.size };
    }

    it('keeps an agent live when its heartbeat was waiting behind the due deadline', async () => {
      const pending = manualConfirmation();
      makeTracker({ afterPendingInput: pending.afterPendingInput });
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      await vi.advanceTimersByTimeAsync(5000);
      expect(pending.size()).toBe(1);
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      // the heartbeat that had arrived in time is handled, then the confirmation runs
      vi.setSystemTime(Date.now() + 300);
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      pending.run();
      expect(names()).toEqual(['agent.appeared']);
      await vi.advanceTimersByTimeAsync(5000);
      pending.run();
      expect(tracker.record('observatory.a')).toMatchObject({ expired: true, time_expired: T0_S + 10.3 });
      expect(names()).toEqual(['agent.appeared', 'agent.expired']);
    });

    it('expires at the confirmation, however late it comes', async () => {
      const pending = manualConfirmation();
      makeTracker({ afterPendingInput: pending.afterPendingInput });
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      await vi.advanceTimersByTimeAsync(5000);
      vi.setSystemTime(Date.now() + 1200);
      pending.run();
      expect(tracker.record('observatory.a')).toMatchObject({ expired: true, time_expired: T0_S + 6.2 });
    });

    it('drops a pending confirmation when the agent is forgotten or the tracker closes', async () => {
      const pending = manualConfirmation();
      makeTracker({ afterPendingInput: pending.afterPendingInput, maxAgents: 1 });
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      await vi.advanceTimersByTimeAsync(5000);
      expect(pending.size()).toBe(1);
      tracker.close();
      expect(pending.size()).toBe(0);
    });

    it('expires nobody while paused and gives every live agent a full timeout on resume', async () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      tracker.onHeartbeat(heartbeat('observatory.gone', { acq: 3 }));
      await vi.advanceTimersByTimeAsync(6000);
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      tracker.pauseExpiry();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      expect(tracker.record('observatory.gone')?.expired).toBe(true);
      tracker.resumeExpiry();
      await vi.advanceTimersByTimeAsync(4999);
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(tracker.record('observatory.a')).toMatchObject({ expired: true, time_expired: T0_S + 71 });
    });

    it("confirms in Node's check phase by default", async () => {
      vi.useRealTimers();
      makeTracker({ afterPendingInput: undefined, agentTimeoutMs: 20 });
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      await vi.waitFor(() => expect(tracker.record('observatory.a')?.expired).toBe(true), { timeout: 5000 });
      tracker.close();
      vi.useFakeTimers();
    });
  });

  describe('op codes', () => {
    it('emits nothing for heartbeats that change nothing', async () => {
      for (let i = 0; i < 5; i++) {
        tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3, count: 1 }));
        await vi.advanceTimersByTimeAsync(1000);
      }
      expect(names()).toEqual(['agent.appeared']);
      expect(tracker.record('observatory.a')?.last_updated).toBe(T0_S + 4);
    });

    it('emits one op_changed per changed, new or dropped op', () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3, count: 1, old: 5 }));
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 5, count: 1, fresh: 1 }));
      const changes = events.slice(1).map((e) => (e.event === 'agent.op_changed' ? [e.op_name, e.op_code_before, e.op_code_after] : e.event));
      expect(changes).toEqual([
        ['acq', 3, 5],
        ['fresh', null, 1],
        ['old', 5, null],
      ]);
      expect(tracker.record('observatory.a')?.op_codes).toEqual({ acq: 5, count: 1, fresh: 1 });
      expect(events[1]?.record.op_codes).toEqual({ acq: 5, count: 1, fresh: 1 });
    });
  });

  describe('restarts', () => {
    it('recognises a new session_id as a restart and drops the ops the new process lacks', () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3, removed_op: 1 }, 'session-a'));
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 1, added_op: 1 }, 'session-b'));
      expect(tracker.record('observatory.a')?.op_codes).toEqual({ acq: 1, added_op: 1 });
      expect(names()).toEqual(['agent.appeared', 'agent.restarted']);
      expect(events[1]).toMatchObject({
        event: 'agent.restarted',
        session_id: 'session-b',
        session_id_before: 'session-a',
        was_expired: false,
        op_codes_before: { acq: 3, removed_op: 1 },
      });
    });

    it('reports a restart after expiry as one restarted event', async () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }, 'session-a'));
      await vi.advanceTimersByTimeAsync(6000);
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 1 }, 'session-b'));
      expect(names()).toEqual(['agent.appeared', 'agent.expired', 'agent.restarted']);
      expect(events[2]).toMatchObject({ was_expired: true, op_codes_before: { acq: 7 } });
      expect(tracker.record('observatory.a')).toMatchObject({ expired: false, time_expired: null, op_codes: { acq: 1 } });
      expect(tracker.stats()).toMatchObject({ live: 1, expired: 0 });
    });

    it('does not call a heartbeat without session_id a restart', () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }, 'session-a'));
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }, null));
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }, 'session-a'));
      expect(names()).toEqual(['agent.appeared']);
    });
  });

  describe('retention', () => {
    it('forgets an expired agent retentionMs after it expired', async () => {
      makeTracker({ retentionMs: 60_000 });
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      await vi.advanceTimersByTimeAsync(5000 + 59_999);
      expect(tracker.record('observatory.a')?.expired).toBe(true);
      await vi.advanceTimersByTimeAsync(1);
      expect(tracker.record('observatory.a')).toBeUndefined();
      expect(events.at(-1)).toMatchObject({ event: 'agent.forgotten', reason: 'retention', time: T0_S + 65, record: { expired: true } });
    });

    it('keeps expired agents for 24 h by default', async () => {
      tracker.onHeartbeat(heartbeat('observatory.a', {}));
      await vi.advanceTimersByTimeAsync(5000 + 24 * 3600 * 1000 - 1);
      expect(tracker.size).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(tracker.size).toBe(0);
    });

    it('never forgets with an infinite retention', async () => {
      makeTracker({ retentionMs: Infinity });
      tracker.onHeartbeat(heartbeat('observatory.a', {}));
      await vi.advanceTimersByTimeAsync(60 * 24 * 3600 * 1000);
      expect(tracker.record('observatory.a')?.expired).toBe(true);
    });

    it('cancels forgetting when the agent comes back', async () => {
      makeTracker({ retentionMs: 10_000 });
      tracker.onHeartbeat(heartbeat('observatory.a', {}));
      await vi.advanceTimersByTimeAsync(9000);
      tracker.onHeartbeat(heartbeat('observatory.a', {}));
      await vi.advanceTimersByTimeAsync(4000);
      expect(tracker.record('observatory.a')?.expired).toBe(false);
      expect(names()).toEqual(['agent.appeared', 'agent.expired', 'agent.recovered']);
    });
  });

  describe('junk', () => {
    const junk: Array<[string, unknown[] | unknown, { topic?: string }?]> = [
      ['not a list', { agent_address: 'observatory.a' }],
      ['not 2 elements', [[{ acq: 3 }]]],
      ['op codes not a map', heartbeat('observatory.a', ['acq'])],
      ['non-integer code', heartbeat('observatory.a', { acq: 2.5 })],
      ['no agent_address', [[{ acq: 3 }, { feed_name: 'heartbeat' }]]],
      ['outside the root', heartbeat('elsewhere.a', { acq: 3 })],
      ['wrong address shape', heartbeat('observatory.a.b', { acq: 3 })],
      ['too many ops', heartbeat('observatory.a', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`op${i}`, 1])))],
      ['a too long op name', heartbeat('observatory.a', { ['x'.repeat(300)]: 1 })],
      ['a wrong topic', heartbeat('observatory.a', { acq: 3 }), { topic: 'observatory.b.feeds.heartbeat' }],
    ];

    it.each(junk)('drops %s and keeps working', (_name, args, details) => {
      expect(tracker.onHeartbeat(args, details)).toBe(false);
      expect(tracker.size).toBe(0);
      expect(events).toEqual([]);
      expect(logger.at('warn')).toHaveLength(1);
      expect(tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }))).toBe(true);
      expect(tracker.record('observatory.a')?.op_codes).toEqual({ acq: 3 });
    });

    it('warns at most once per reason per interval, with the dropped count', async () => {
      makeTracker({ warnIntervalMs: 10_000 });
      for (let i = 0; i < 100; i++) tracker.onHeartbeat(heartbeat(`elsewhere.a${i}`, {}));
      tracker.onHeartbeat(heartbeat('observatory.a', 'junk'));
      expect(logger.at('warn').map((w) => [w.fields['reason'], w.fields['dropped']])).toEqual([
        ['address_outside_root', 1],
        ['op_codes_not_a_map', 1],
      ]);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(logger.at('warn').map((w) => [w.fields['reason'], w.fields['dropped'], w.fields['dropped_total']])).toEqual([
        ['address_outside_root', 1, 1],
        ['op_codes_not_a_map', 1, 1],
        ['address_outside_root', 99, 100],
      ]);
      expect(tracker.stats().dropped).toEqual({ address_outside_root: 100, op_codes_not_a_map: 1 });
    });

    it('never throws, even when reading the payload throws', () => {
      const hostile = { get agent_address(): string { throw new Error('boom'); } };
      expect(tracker.onHeartbeat([[{}, hostile]])).toBe(false);
      expect(logger.at('error')).toHaveLength(1);
      expect(tracker.onHeartbeat(heartbeat('observatory.a', {}))).toBe(true);
    });

    it('keeps going when a change listener throws', () => {
      tracker.on('change', () => {
        throw new Error('listener bug');
      });
      expect(tracker.onHeartbeat(heartbeat('observatory.a', {}))).toBe(true);
      expect(logger.at('error')[0]?.msg).toBe('change listener failed');
      expect(tracker.size).toBe(1);
    });
  });

  describe('capacity', () => {
    it('drops new addresses when full of live agents', () => {
      makeTracker({ maxAgents: 3 });
      for (const id of ['a', 'b', 'c', 'd', 'e']) tracker.onHeartbeat(heartbeat(`observatory.${id}`, {}));
      expect(tracker.records().map((r) => r.agent_address)).toEqual(['observatory.a', 'observatory.b', 'observatory.c']);
      expect(logger.at('warn')).toMatchObject([{ fields: { reason: 'tracker_full', dropped: 1, max_agents: 3 } }]);
      expect(tracker.stats().dropped).toEqual({ tracker_full: 2 });
      // known agents still beat
      expect(tracker.onHeartbeat(heartbeat('observatory.a', {}))).toBe(true);
    });

    it('evicts the agent expired longest to admit a new one', async () => {
      makeTracker({ maxAgents: 3 });
      tracker.onHeartbeat(heartbeat('observatory.a', {}));
      await vi.advanceTimersByTimeAsync(1000);
      tracker.onHeartbeat(heartbeat('observatory.b', {}));
      tracker.onHeartbeat(heartbeat('observatory.c', {}));
      await vi.advanceTimersByTimeAsync(6000); // all three expired, a first
      tracker.onHeartbeat(heartbeat('observatory.d', {}));
      expect(tracker.records().map((r) => r.agent_address)).toEqual(['observatory.b', 'observatory.c', 'observatory.d']);
      expect(events.filter((e) => e.event === 'agent.forgotten')).toMatchObject([{ agent_address: 'observatory.a', reason: 'evicted' }]);
    });

    it('bounds a flood of distinct fake addresses', async () => {
      makeTracker({ maxAgents: 100 });
      for (let i = 0; i < 10_000; i++) tracker.onHeartbeat(heartbeat(`observatory.fake${i}`, { op: 1 }));
      expect(tracker.size).toBe(100);
      expect(logger.at('warn')).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(5000);
      expect(tracker.onHeartbeat(heartbeat('observatory.real', { acq: 3 }))).toBe(true);
      expect(tracker.size).toBe(100);
    });
  });

  describe('legacy heartbeats', () => {
    it('tracks an agent that sends 0 instead of op codes, with no ops', async () => {
      expect(tracker.onHeartbeat(heartbeat('observatory.old', 0, null, 'OldAgent'))).toBe(true);
      expect(tracker.record('observatory.old')).toMatchObject({ expired: false, op_codes: {}, agent_class: 'OldAgent' });
      expect(tracker.operationBlocks(T0_S)).toEqual([]);
      await vi.advanceTimersByTimeAsync(5000);
      expect(tracker.record('observatory.old')?.expired).toBe(true);
      tracker.onHeartbeat(heartbeat('observatory.old', 0, null, 'OldAgent'));
      expect(names()).toEqual(['agent.appeared', 'agent.expired', 'agent.recovered']);
    });

    it('leaves known op codes as they are', () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      tracker.onHeartbeat(heartbeat('observatory.a', 0));
      expect(tracker.record('observatory.a')?.op_codes).toEqual({ acq: 3 });
      expect(names()).toEqual(['agent.appeared']);
    });
  });

  describe('OCS output', () => {
    it('writes session.data records in OCS key order with float times', async () => {
      tracker.onHeartbeat(heartbeat('observatory.aggregator', { record: 3 }, 's', 'AggregatorAgent'));
      tracker.onHeartbeat(heartbeat('observatory.faker', { acq: 3 }));
      await vi.advanceTimersByTimeAsync(2500);
      tracker.onHeartbeat(heartbeat('observatory.aggregator', { record: 3 }, 's', 'AggregatorAgent'));
      await vi.advanceTimersByTimeAsync(2500);
      const data = tracker.sessionData();
      expect(Object.keys(data)).toEqual(['observatory.aggregator', 'observatory.faker']);
      for (const record of Object.values(data)) {
        expect(Object.keys(record)).toEqual(['expired', 'time_expired', 'last_updated', 'op_codes', 'agent_class', 'agent_address']);
      }
      expect(data['observatory.aggregator']).toEqual({
        expired: false,
        time_expired: null,
        last_updated: new WampFloat(T0_S + 2.5),
        op_codes: { record: 3 },
        agent_class: 'AggregatorAgent',
        agent_address: 'observatory.aggregator',
      });
      expect(data['observatory.faker']).toEqual({
        expired: true,
        time_expired: new WampFloat(T0_S + 5),
        last_updated: new WampFloat(T0_S),
        op_codes: { acq: 7 },
        agent_class: 'FakeDataAgent',
        agent_address: 'observatory.faker',
      });
      expect(JSON.stringify(data['observatory.faker'])).toBe(
        `{"expired":true,"time_expired":${T0_S + 5},"last_updated":${T0_S},"op_codes":{"acq":7},"agent_class":"FakeDataAgent","agent_address":"observatory.faker"}`,
      );
    });

    it('builds one agent_operations block per op with OCS field names', async () => {
      tracker.onHeartbeat(heartbeat('observatory.fake-data1', { acq: 3, 'set-heartbeat': 1 }));
      tracker.onHeartbeat(heartbeat('observatory.other', { '9lives': 5 }));
      const blocks = tracker.operationBlocks(T0_S + 0.5);
      expect(blocks).toEqual([
        { block_name: 'observatory_fake_data1_acq', timestamp: T0_S + 0.5, data: { observatory_fake_data1_acq: 3n } },
        { block_name: 'observatory_fake_data1_set_heartbeat', timestamp: T0_S + 0.5, data: { observatory_fake_data1_set_heartbeat: 1n } },
        { block_name: 'observatory_other_9lives', timestamp: T0_S + 0.5, data: { observatory_other_9lives: 5n } },
      ]);
      expect(Object.keys(blocks[0] ?? {})).toEqual(['block_name', 'timestamp', 'data']);
      expect(tracker.operationBlocks(T0_S, 'observatory.other').map((b) => b.block_name)).toEqual(['observatory_other_9lives']);
      expect(tracker.operationBlocks(T0_S, 'observatory.unknown')).toEqual([]);
      await vi.advanceTimersByTimeAsync(5000);
      expect(tracker.operationBlocks(T0_S, 'observatory.fake-data1').map((b) => b.data)).toEqual([
        { observatory_fake_data1_acq: 7n },
        { observatory_fake_data1_set_heartbeat: 7n },
      ]);
    });

    it('gives every event a time equal to the freshest time of its record', async () => {
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 1 }));
      await vi.advanceTimersByTimeAsync(1000);
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      await vi.advanceTimersByTimeAsync(7000);
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
      tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }, 'session-b'));
      expect(names()).toEqual(['agent.appeared', 'agent.op_changed', 'agent.expired', 'agent.recovered', 'agent.restarted']);
      for (const e of events) expect(e.time).toBe(Math.max(e.record.last_updated, e.record.time_expired ?? 0));
    });
  });

  describe('snapshot and restore', () => {
    async function trackedState(): Promise<unknown> {
      makeTracker({ retentionMs: 60_000 });
      tracker.onHeartbeat(heartbeat('observatory.gone', { acq: 3 }, 's1', 'GoneAgent'));
      await vi.advanceTimersByTimeAsync(3000);
      tracker.onHeartbeat(heartbeat('observatory.live', { acq: 3, count: 1 }, 's2'));
      tracker.onHeartbeat(heartbeat('observatory.old', 0, null, 'OldAgent'));
      await vi.advanceTimersByTimeAsync(2000); // gone expires at +5 s
      tracker.onHeartbeat(heartbeat('observatory.live', { acq: 3, count: 1 }, 's2'));
      tracker.onHeartbeat(heartbeat('observatory.old', 0, null, 'OldAgent'));
      return JSON.parse(JSON.stringify(tracker.snapshot())) as unknown;
    }

    it('restores live and expired agents without expiring the live ones at once', async () => {
      const saved = await trackedState();
      const before = tracker.records();
      tracker.close();
      await vi.advanceTimersByTimeAsync(30_000); // registry down for 30 s
      makeTracker({ retentionMs: 60_000 });
      expect(tracker.restore(saved)).toEqual({ ok: true, restored: 3, skipped: 0 });
      expect(events).toEqual([]);
      expect(tracker.records()).toEqual(before);
      await vi.advanceTimersByTimeAsync(4999);
      expect(tracker.record('observatory.live')?.expired).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(tracker.record('observatory.live')).toMatchObject({ expired: true, time_expired: T0_S + 40, last_updated: T0_S + 5 });
      expect(tracker.stats()).toMatchObject({ live: 0, expired: 3 });
    });

    it('lets a restored agent recover and forgets a restored expired one on time', async () => {
      const saved = await trackedState();
      makeTracker({ retentionMs: 60_000 });
      tracker.restore(saved);
      tracker.onHeartbeat(heartbeat('observatory.gone', { acq: 1 }, 's1', 'GoneAgent'));
      expect(names()).toEqual(['agent.recovered']);
      tracker.onHeartbeat(heartbeat('observatory.live', { acq: 5, count: 1 }, 's2'));
      expect(events.at(-1)).toMatchObject({ event: 'agent.op_changed', op_name: 'acq', op_code_before: 3, op_code_after: 5 });
      await vi.advanceTimersByTimeAsync(5000);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(tracker.size).toBe(0);
    });

    it('skips entries it cannot use and refuses a bad snapshot', async () => {
      const saved = (await trackedState()) as { agents: unknown[] };
      makeTracker({ retentionMs: 60_000, maxAgents: 3 });
      tracker.onHeartbeat(heartbeat('observatory.live', { acq: 3 }, 's2'));
      const withJunk = {
        ...saved,
        agents: [...saved.agents, { agent_address: 'elsewhere.x' }, { ...(saved.agents[0] as object), agent_address: 'elsewhere.y' }, 42],
      };
      expect(tracker.restore(withJunk)).toEqual({ ok: true, restored: 2, skipped: 4 });
      expect(tracker.restore({ version: 2, agents: [] })).toMatchObject({ ok: false });
      expect(tracker.restore('garbage')).toMatchObject({ ok: false });
    });

    it('does not restore expired agents past their retention', async () => {
      const saved = await trackedState();
      await vi.advanceTimersByTimeAsync(60_000);
      makeTracker({ retentionMs: 60_000 });
      expect(tracker.restore(saved)).toEqual({ ok: true, restored: 2, skipped: 1 });
      expect(tracker.record('observatory.gone')).toBeUndefined();
    });
  });

  describe('close', () => {
    it('clears every timer and ignores later heartbeats', () => {
      for (let i = 0; i < 10; i++) tracker.onHeartbeat(heartbeat(`observatory.a${i}`, {}));
      tracker.onHeartbeat(heartbeat('elsewhere.x', {}));
      tracker.onHeartbeat(heartbeat('elsewhere.y', {}));
      expect(vi.getTimerCount()).toBeGreaterThan(0);
      tracker.close();
      expect(vi.getTimerCount()).toBe(0);
      expect(tracker.onHeartbeat(heartbeat('observatory.z', {}))).toBe(false);
      expect(tracker.snapshot().agents).toHaveLength(10);
    });
  });
});
