import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OPERATIONS_RATE_PER_S, RegistryAgent, SESSION_DATA_MAX_AGE_MS, type RegistryHost } from '../../../agents/registry/agent.js';
import { RegistryArgsSchema, type RegistryArgs } from '../../../agents/registry/config.js';
import { Feed } from '../../../lib/feeds/feed.js';
import { formatFeedMessage } from '../../../lib/influx/line-protocol.js';
import type { EncodedSession } from '../../../lib/ops/op-session.js';
import type { AfterPendingInput } from '../../../lib/registry/after-pending-input.js';
import { OpTable } from '../../../lib/ops/op-table.js';
import type { EventHandler } from '../../../lib/wamp/autobahn.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import { confirmAtOnce, heartbeat } from './heartbeat-fixture.js';
import { recordingLogger } from './recording-logger.js';

const T0_MS = 1_700_000_000_000;
const T0_S = T0_MS / 1000;
const ROOT = 'observatory';
const REGISTRY = `${ROOT}.registry`;
const STATUS_TOPIC = `${REGISTRY}.feeds.agent_status`;
const OPERATIONS_TOPIC = `${REGISTRY}.feeds.agent_operations`;

interface Publication {
  topic: string;
  message: Record<string, unknown>;
  feed: Record<string, unknown>;
}

/** A stand-in for AgentRuntime: a real OpTable and real Feeds, publications and subscriptions recorded. */
function fakeHost() {
  const logger = recordingLogger();
  const ops = new OpTable({ agentClass: 'RegistryAgent', logger });
  const publications: Publication[] = [];
  const subscriptions: Array<{ topic: string; handler: EventHandler; options: Record<string, unknown> | undefined }> = [];
  /** Calls the registry makes (its expiry confirmations); each answered by `answer`, at once by default. */
  const calls: Array<[string, unknown[] | undefined]> = [];
  const control = { answer: (): Promise<unknown> => Promise.resolve('RegistryAgent') };
  const runtimeEvents = new EventEmitter();
  const publish = (topic: string, args: unknown[]): void => {
    const [message, feed] = args[0] as [Record<string, unknown>, Record<string, unknown>];
    publications.push({ topic, message, feed });
  };
  const host: RegistryHost = {
    address: REGISTRY,
    logger,
    registerTask: (name, spec) => ops.registerTask(name, spec),
    registerProcess: (name, spec) => ops.registerProcess(name, spec),
    registerFeed: (name, options = {}) =>
      new Feed({
        agentAddress: REGISTRY,
        feedName: name,
        agentClass: 'RegistryAgent',
        agentSessionId: String(T0_S),
        record: options.record,
        aggParams: options.aggParams,
        bufferTimeS: options.bufferTimeS,
        publish,
      }),
    subscribe: async (topic, handler, options) => {
      subscriptions.push({ topic, handler, options });
    },
    publish,
    call: ((procedure: string, args?: unknown[]) => {
      calls.push([procedure, args]);
      return control.answer();
    }) as RegistryHost['call'],
    on: ((event: string, listener: (...a: unknown[]) => void) => runtimeEvents.on(event, listener)) as unknown as RegistryHost['on'],
  };
  /** The runtime's join (after which the registry can hear) and loss of the router. */
  const join = (): boolean => runtimeEvents.emit('joined', true);
  const leave = (): boolean => runtimeEvents.emit('left');
  return { host, ops, logger, publications, subscriptions, calls, control, join, leave };
}

function args(overrides: Record<string, unknown> = {}): RegistryArgs {
  return RegistryArgsSchema.parse(overrides);
}

describe('RegistryAgent', () => {
  let h: ReturnType<typeof fakeHost>;
  let registry: RegistryAgent;

  /** Expiries are confirmed at once unless a test asks for the registry's own confirmation. */
  async function makeRegistry(overrides: Record<string, unknown> = {}, confirmation: 'at-once' | 'registry' = 'at-once'): Promise<RegistryAgent> {
    h = fakeHost();
    const afterPendingInput: AfterPendingInput | undefined = confirmation === 'at-once' ? confirmAtOnce : undefined;
    registry = new RegistryAgent(h.host, { addressRoot: ROOT, args: args(overrides), afterPendingInput });
    await registry.start();
    h.join();
    await h.ops.runStartupOps();
    await vi.advanceTimersByTimeAsync(0);
    return registry;
  }

  /** Delivers a heartbeat the way the wildcard subscription does. */
  function beat(address: string, opCodes: unknown, sessionId: string | null = 'session-a'): void {
    h.subscriptions[0]!.handler(heartbeat(address, opCodes, sessionId), undefined, { topic: `${address}.feeds.heartbeat` });
  }

  const statusEvents = (): Array<Record<string, unknown>> => h.publications.filter((p) => p.topic === STATUS_TOPIC).map((p) => p.message);
  const operations = (): Publication[] => h.publications.filter((p) => p.topic === OPERATIONS_TOPIC);

  function sessionData(): Record<string, Record<string, unknown>> {
    const reply = h.ops.status('main');
    // as a JavaScript client reads it off the wire (float markers become plain numbers)
    return JSON.parse(JSON.stringify((reply[2] as { data: unknown }).data)) as Record<string, Record<string, unknown>>;
  }

  async function shutdown(): Promise<void> {
    h.ops.stopOp('stop', 'main');
    await vi.advanceTimersByTimeAsync(0);
    await registry.close();
  }

  beforeEach(async () => {
    vi.useFakeTimers();
    vi.setSystemTime(T0_MS);
    await makeRegistry();
  });

  afterEach(async () => {
    await shutdown();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  it('registers OCS ops and feeds and subscribes to every heartbeat with a wildcard', () => {
    expect(h.ops.opNames()).toEqual(['main', 'register_agent']);
    expect(h.ops.session('main')?.status).toBe('running');
    expect(h.subscriptions.map((s) => [s.topic, s.options])).toEqual([[`${ROOT}..feeds.heartbeat`, { match: 'wildcard' }]]);
  });

  it('answers register_agent as OCS does', async () => {
    h.ops.start('register_agent');
    await vi.advanceTimersByTimeAsync(0);
    const session = h.ops.status('register_agent')[2] as EncodedSession;
    expect(session.success).toBe(true);
    expect(session.messages.map((m) => m[1])).toContain("'register_agent' is deprecated");
  });

  it("serves every agent's OCS record in main's session.data", () => {
    beat(`${ROOT}.fake-data1`, { acq: 3, count: 1 });
    beat(`${ROOT}.fake-data2`, { acq: 5 });
    const data = sessionData();
    expect(Object.keys(data)).toEqual([`${ROOT}.fake-data1`, `${ROOT}.fake-data2`]);
    expect(data[`${ROOT}.fake-data1`]).toEqual({
      expired: false,
      time_expired: null,
      last_updated: T0_S,
      op_codes: { acq: 3, count: 1 },
      agent_class: 'FakeDataAgent',
      agent_address: `${ROOT}.fake-data1`,
    });
    expect(Object.keys(data[`${ROOT}.fake-data1`]!)).toEqual(['expired', 'time_expired', 'last_updated', 'op_codes', 'agent_class', 'agent_address']);
  });

  it('shows a change in session.data at once and last_updated at most 1 s old', async () => {
    beat(`${ROOT}.a`, { acq: 3 });
    expect(sessionData()[`${ROOT}.a`]!['last_updated']).toBe(T0_S);
    await vi.advanceTimersByTimeAsync(400);
    beat(`${ROOT}.a`, { acq: 3 });
    // nothing changed but the beat time: the table read 400 ms ago may still be served
    expect(sessionData()[`${ROOT}.a`]!['last_updated']).toBe(T0_S);
    await vi.advanceTimersByTimeAsync(SESSION_DATA_MAX_AGE_MS - 400);
    expect(sessionData()[`${ROOT}.a`]!['last_updated']).toBe(T0_S + 0.4);
    beat(`${ROOT}.a`, { acq: 5 });
    expect(sessionData()[`${ROOT}.a`]!['op_codes']).toEqual({ acq: 5 });
    beat(`${ROOT}.b`, { acq: 1 });
    expect(Object.keys(sessionData())).toEqual([`${ROOT}.a`, `${ROOT}.b`]);
  });

  it('publishes every change on agent_status at once, with float times', async () => {
    beat(`${ROOT}.a`, { acq: 3, count: 1 });
    expect(statusEvents().map((e) => e['event'])).toEqual(['agent.appeared']);
    const appeared = statusEvents()[0]!;
    expect(appeared['time']).toEqual(new WampFloat(T0_S));
    expect(appeared['agent_address']).toBe(`${ROOT}.a`);
    expect(h.publications.find((p) => p.topic === STATUS_TOPIC)!.feed).toMatchObject({ feed_name: 'agent_status', record: false, agent_address: REGISTRY });
    beat(`${ROOT}.a`, { acq: 5, count: 1 });
    expect(statusEvents().at(-1)).toMatchObject({ event: 'agent.op_changed', op_name: 'acq', op_code_before: 3, op_code_after: 5 });
  });

  it('expires an agent 5 s after its last heartbeat, every op code 7, and publishes that at once', async () => {
    beat(`${ROOT}.a`, { acq: 3, count: 1 });
    await vi.advanceTimersByTimeAsync(4999);
    expect(statusEvents().map((e) => e['event'])).toEqual(['agent.appeared']);
    const before = operations().length;
    await vi.advanceTimersByTimeAsync(1);
    const expired = statusEvents().at(-1)!;
    expect(expired).toMatchObject({ event: 'agent.expired', time: new WampFloat(T0_S + 5), op_codes_before: { acq: 3, count: 1 } });
    expect(expired['record']).toMatchObject({ expired: true, op_codes: { acq: 7, count: 7 } });
    expect(operations().length).toBe(before + 1);
    expect(operations().at(-1)!.message).toEqual({
      observatory_a_acq: { block_name: 'observatory_a_acq', data: { observatory_a_acq: [7] }, timestamps: [new WampFloat(T0_S + 5)] },
      observatory_a_count: { block_name: 'observatory_a_count', data: { observatory_a_count: [7] }, timestamps: [new WampFloat(T0_S + 5)] },
    });
    expect(sessionData()[`${ROOT}.a`]).toMatchObject({ expired: true, time_expired: T0_S + 5, op_codes: { acq: 7, count: 7 } });
  });

  describe('expiry confirmation', () => {
    beforeEach(async () => {
      await shutdown();
      await makeRegistry({}, 'registry');
    });

    it('expires in the loop turn of the deadline, without a round trip, when the registry keeps up', async () => {
      beat(`${ROOT}.a`, { acq: 3 });
      await vi.advanceTimersByTimeAsync(5000);
      await vi.advanceTimersByTimeAsync(1); // the check phase after the deadline's loop turn
      const expired = statusEvents().at(-1)!;
      expect(expired['event']).toBe('agent.expired');
      // fake timers run the check phase one fake millisecond after the deadline's turn
      expect((expired['time'] as WampFloat).value - T0_S).toBeCloseTo(5, 2);
      expect(h.calls).toEqual([]);
    });

    it('confirms with a round trip through the router to itself when it was behind, so a heartbeat still in transit counts', async () => {
      let answer: (() => void) | undefined;
      h.control.answer = () => new Promise((resolve) => (answer = () => resolve('RegistryAgent')));
      beat(`${ROOT}.a`, { acq: 3 });
      await vi.advanceTimersByTimeAsync(5000);
      vi.setSystemTime(Date.now() + 200); // handling the input waiting at the deadline took 200 ms
      await vi.advanceTimersByTimeAsync(10);
      expect(h.calls).toEqual([[REGISTRY, ['get_agent_class']]]);
      expect(sessionData()[`${ROOT}.a`]!['expired']).toBe(false);
      beat(`${ROOT}.a`, { acq: 3 }); // routed before the round trip's invocation
      answer!();
      await vi.advanceTimersByTimeAsync(0);
      expect(statusEvents().map((e) => e['event'])).toEqual(['agent.appeared']);
    });
  });

  it('expires nobody while it cannot hear the router, and gives every agent a full timeout after it rejoins', async () => {
    beat(`${ROOT}.a`, { acq: 3 });
    await vi.advanceTimersByTimeAsync(1000);
    h.leave();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sessionData()[`${ROOT}.a`]!['expired']).toBe(false);
    h.join();
    await vi.advanceTimersByTimeAsync(4999);
    expect(sessionData()[`${ROOT}.a`]!['expired']).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(statusEvents().at(-1)).toMatchObject({ event: 'agent.expired', time: new WampFloat(T0_S + 26) });
  });

  it('uses --agent-timeout', async () => {
    await shutdown();
    await makeRegistry({ agent_timeout: '0.5' });
    beat(`${ROOT}.a`, { acq: 3 });
    await vi.advanceTimersByTimeAsync(499);
    expect(sessionData()[`${ROOT}.a`]!['expired']).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(sessionData()[`${ROOT}.a`]!['expired']).toBe(true);
  });

  it('reports recovery and restart, and drops the ops a restarted agent no longer has', async () => {
    beat(`${ROOT}.a`, { acq: 3, old_op: 1 });
    await vi.advanceTimersByTimeAsync(6000);
    beat(`${ROOT}.a`, { acq: 3, old_op: 1 });
    expect(statusEvents().map((e) => e['event'])).toEqual(['agent.appeared', 'agent.expired', 'agent.recovered']);
    beat(`${ROOT}.a`, { acq: 1 }, 'session-b');
    expect(statusEvents().at(-1)).toMatchObject({ event: 'agent.restarted', session_id: 'session-b', session_id_before: 'session-a', was_expired: false });
    await vi.advanceTimersByTimeAsync(0);
    expect(Object.keys(operations().at(-1)!.message)).toEqual(['observatory_a_acq']);
    expect(sessionData()[`${ROOT}.a`]!['op_codes']).toEqual({ acq: 1 });
  });

  it('publishes op codes as integers once per agent per change, then every --wait-time seconds', async () => {
    beat(`${ROOT}.a`, { acq: 3, count: 1 });
    beat(`${ROOT}.b`, { acq: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(operations().map((p) => Object.keys(p.message))).toEqual([['observatory_a_acq', 'observatory_a_count'], ['observatory_b_acq']]);
    const value = (operations()[0]!.message['observatory_a_acq'] as { data: Record<string, unknown[]> }).data['observatory_a_acq']![0];
    expect(typeof value).toBe('number');
    expect(operations()[0]!.feed).toEqual({
      agent_address: REGISTRY,
      agg_params: { frame_length: 60 },
      feed_name: 'agent_operations',
      address: OPERATIONS_TOPIC,
      record: true,
      session_id: String(T0_S),
      agent_class: 'RegistryAgent',
    });
    // two ops change in one heartbeat: two op_changed events, one publication
    beat(`${ROOT}.a`, { acq: 5, count: 5 });
    await vi.advanceTimersByTimeAsync(0);
    expect(statusEvents().filter((e) => e['event'] === 'agent.op_changed')).toHaveLength(2);
    expect(operations()).toHaveLength(3);
    // keep both alive and let the republish period pass
    for (let i = 0; i < 30; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      beat(`${ROOT}.a`, { acq: 5, count: 5 });
      beat(`${ROOT}.b`, { acq: 1 });
    }
    expect(operations()).toHaveLength(5);
    expect(operations().slice(3).map((p) => Object.keys(p.message)[0])).toEqual(['observatory_a_acq', 'observatory_b_acq']);
  });

  it("groups an agent's op blocks in one publication, which every consumer reads as OCS's one publication per block", async () => {
    beat(`${ROOT}.a`, { acq: 3, count: 1, delay_task: 5 });
    await vi.advanceTimersByTimeAsync(0);
    const grouped = operations().at(-1)!;
    const message = JSON.parse(JSON.stringify(grouped.message)) as Record<string, { block_name: string; data: Record<string, unknown[]>; timestamps: number[] }>;
    expect(Object.keys(message)).toEqual(['observatory_a_acq', 'observatory_a_count', 'observatory_a_delay_task']);
    // OCS sends each block alone; consumers (the InfluxDB publisher, OCS's aggregator) take a
    // message block by block, each block on its own (its name, its fields, its timestamps)
    const feed = { agent_address: REGISTRY, feed_name: 'agent_operations' };
    const oneByOne = Object.entries(message).flatMap(([name, block]) => formatFeedMessage({ [name]: block }, feed).lines);
    const together = formatFeedMessage(message, feed);
    expect(together.issues).toEqual([]);
    expect(together.lines).toEqual(oneByOne);
    expect(together.lines).toHaveLength(3);
    for (const block of Object.values(message)) {
      expect(Object.keys(block.data)).toEqual([block.block_name]);
      expect(block.timestamps).toHaveLength(1);
    }
  });

  it('paces agent_operations so a burst of changes or a republish never floods the router', async () => {
    for (let i = 0; i < 500; i++) beat(`${ROOT}.a${i}`, { acq: 3 });
    await vi.advanceTimersByTimeAsync(0);
    expect(statusEvents()).toHaveLength(500);
    const burst = operations().length;
    expect(burst).toBeLessThan(500);
    // at most OPERATIONS_RATE_PER_S a second beyond the first burst
    await vi.advanceTimersByTimeAsync(100);
    expect(operations().length - burst).toBeLessThanOrEqual(OPERATIONS_RATE_PER_S / 10 + 1);
    await vi.advanceTimersByTimeAsync((1000 * 500) / OPERATIONS_RATE_PER_S);
    const published = operations().map((p) => Object.keys(p.message)[0]);
    expect(published).toHaveLength(500);
    expect(new Set(published).size).toBe(500);
  });

  it('runs main once with test_mode and replies to stop as OCS', async () => {
    expect(h.ops.stopOp('stop', 'main')[0]).toBe(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.ops.session('main')?.status).toBe('done');
    beat(`${ROOT}.a`, { acq: 3 });
    h.ops.start('main', { test_mode: true });
    await vi.advanceTimersByTimeAsync(0);
    const session = h.ops.status('main')[2] as EncodedSession;
    expect(session.status).toBe('done');
    expect(session.success).toBe(true);
    expect(session.messages.map((m) => m[1])).toContain('Stopped registry main process');
    expect(Object.keys(session.data)).toEqual([`${ROOT}.a`]);
  });

  it('keeps serving when heartbeats are junk, with a rate-limited warning', () => {
    const handler = h.subscriptions[0]!.handler;
    const junk: unknown[] = [undefined, 'x', [], [[1, 2, 3]], [[{ acq: 'running' }, { agent_address: `${ROOT}.x` }]], [[{}, { agent_address: 'elsewhere.x' }]]];
    for (const args of junk) expect(() => handler(args as unknown[], undefined, {})).not.toThrow();
    beat(`${ROOT}.good`, { acq: 3 });
    expect(Object.keys(sessionData())).toEqual([`${ROOT}.good`]);
    expect(h.logger.at('warn').filter((e) => e.msg === 'heartbeat dropped').length).toBeGreaterThan(0);
    expect(h.logger.at('warn').filter((e) => e.msg === 'heartbeat dropped').length).toBeLessThan(junk.length);
  });

  it('tracks a legacy heartbeat carrying 0 instead of op codes', () => {
    beat(`${ROOT}.old`, 0);
    expect(sessionData()[`${ROOT}.old`]).toMatchObject({ expired: false, op_codes: {} });
  });

  it('forgets expired agents after --retention and stops publishing them', async () => {
    await shutdown();
    await makeRegistry({ retention: '60', wait_time: '1000' });
    beat(`${ROOT}.a`, { acq: 3 });
    await vi.advanceTimersByTimeAsync(5000 + 60_000);
    expect(statusEvents().at(-1)).toMatchObject({ event: 'agent.forgotten', reason: 'retention' });
    expect(sessionData()).toEqual({});
  });

  it('caps the number of tracked agents with --max-agents', async () => {
    await shutdown();
    await makeRegistry({ max_agents: '2' });
    for (const id of ['a', 'b', 'c']) beat(`${ROOT}.${id}`, { acq: 3 });
    expect(Object.keys(sessionData())).toEqual([`${ROOT}.a`, `${ROOT}.b`]);
  });

  describe('--state-file', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'registry-state-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps live and expired agents across a restart', async () => {
      await shutdown();
      const file = join(dir, 'state.json');
      await makeRegistry({ state_file: file });
      beat(`${ROOT}.gone`, { acq: 3 });
      await vi.advanceTimersByTimeAsync(6000);
      beat(`${ROOT}.live`, { acq: 3 });
      await shutdown();
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 1, agents: [{ agent_address: `${ROOT}.gone`, expired: true }, { agent_address: `${ROOT}.live`, expired: false }] });

      await vi.advanceTimersByTimeAsync(1000);
      await makeRegistry({ state_file: file });
      expect(sessionData()[`${ROOT}.gone`]).toMatchObject({ expired: true, time_expired: T0_S + 5, op_codes: { acq: 7 } });
      expect(sessionData()[`${ROOT}.live`]).toMatchObject({ expired: false, op_codes: { acq: 3 } });
      // the restored live agent expires only if it stays silent for the timeout
      await vi.advanceTimersByTimeAsync(4000);
      beat(`${ROOT}.live`, { acq: 3 });
      await vi.advanceTimersByTimeAsync(4000);
      expect(sessionData()[`${ROOT}.live`]!['expired']).toBe(false);
    });

    it('writes a change to the file within a second, while running', async () => {
      await shutdown();
      const file = join(dir, 'state.json');
      await makeRegistry({ state_file: file });
      beat(`${ROOT}.a`, { acq: 3 });
      await vi.waitFor(async () => {
        await vi.advanceTimersByTimeAsync(100);
        expect(JSON.parse(readFileSync(file, 'utf8')).agents).toHaveLength(1);
      });
    });

    it('starts empty when the state file is not a snapshot', async () => {
      await shutdown();
      const file = join(dir, 'state.json');
      writeFileSync(file, '{not json');
      await makeRegistry({ state_file: file });
      beat(`${ROOT}.a`, { acq: 3 });
      expect(Object.keys(sessionData())).toEqual([`${ROOT}.a`]);
      expect(h.logger.at('warn').some((e) => e.msg === 'registry state file is not JSON; starting empty')).toBe(true);
    });
  });
});
