import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InternalError } from '../../../lib/errors.js';
import { encodeAgentStatusEvent, type AgentStatusEvent } from '../../../lib/registry/agent-status-event.js';
import { LivenessTracker } from '../../../lib/registry/liveness-tracker.js';
import { RegistryWatcher, STARTING_RETRY_MS, STARTING_WAIT_MS } from '../../../lib/registry/registry-watcher.js';
import { WampFloat, isWampFloat } from '../../../lib/wamp/float.js';
import { confirmAtOnce, heartbeat } from './heartbeat-fixture.js';
import { recordingLogger } from './recording-logger.js';

const T0_MS = 1_700_000_000_000;
const T0_S = T0_MS / 1000;
const STATUS_FEED = { agent_address: 'observatory.registry', agg_params: {}, feed_name: 'agent_status', address: 'observatory.registry.feeds.agent_status', record: false, session_id: '1.5', agent_class: 'RegistryAgent' };

/** What a codec does to a value: a float that is integral stays wrapped, any other becomes a number. */
function overTheWire(v: unknown): unknown {
  if (isWampFloat(v)) return Number.isInteger(v.value) ? new WampFloat(v.value) : v.value;
  if (Array.isArray(v)) return v.map(overTheWire);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, overTheWire(x)]));
  return v;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A registry: a real tracker whose events and session.data reach the watcher as over WAMP. */
function fakeRegistry() {
  const tracker = new LivenessTracker({ addressRoot: 'observatory', afterPendingInput: confirmAtOnce });
  const handlers = new Map<string, (args: unknown[] | undefined) => void>();
  const calls: Array<[string, unknown[], Record<string, unknown> | undefined]> = [];
  const unsubscribed: string[] = [];
  let pendingStatus: Deferred<unknown> | undefined;
  /** How many status calls `main` answers as still starting (empty data, as a just-joined Registry does). */
  let startingAnswers = 0;
  const publish = (message: unknown): void => handlers.get('observatory.registry.feeds.agent_status')?.(overTheWire([[message, STATUS_FEED]]) as unknown[]);
  tracker.on('change', (ev) => publish(encodeAgentStatusEvent(ev)));
  const startingReply = (): unknown =>
    overTheWire([0, 'Session active.', { session_id: 0, op_name: 'main', op_code: 2, status: 'starting', success: null, start_time: 1, end_time: null, data: {}, messages: [] }]);
  const statusReply = (): unknown =>
    overTheWire([0, 'Session active.', { session_id: 0, op_name: 'main', op_code: 3, status: 'running', success: null, start_time: 1, end_time: null, data: tracker.sessionData(), messages: [] }]);
  return {
    tracker,
    calls,
    unsubscribed,
    publish,
    /** The next status call waits until `answerStatus()`. */
    holdStatus(): void {
      pendingStatus = deferred();
    },
    startMainLater(answers: number): void {
      startingAnswers = answers;
    },
    answerStatus(): void {
      pendingStatus?.resolve(statusReply());
      pendingStatus = undefined;
    },
    options: {
      registryAddress: 'observatory.registry',
      subscribe: async (topic: string, handler: (args: unknown[] | undefined) => void) => {
        handlers.set(topic, handler);
        return () => {
          handlers.delete(topic);
          unsubscribed.push(topic);
        };
      },
      call: async (procedure: string, args: unknown[], kwargs?: Record<string, unknown>) => {
        calls.push([procedure, args, kwargs]);
        if (pendingStatus) return pendingStatus.promise;
        if (startingAnswers > 0) {
          startingAnswers--;
          return startingReply();
        }
        return statusReply();
      },
    },
  };
}

describe('RegistryWatcher', () => {
  let registry: ReturnType<typeof fakeRegistry>;
  let watcher: RegistryWatcher;
  let changes: AgentStatusEvent[];

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0_MS);
    registry = fakeRegistry();
    changes = [];
  });

  afterEach(async () => {
    await watcher?.stop();
    registry.tracker.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  function makeWatcher(logger = recordingLogger()): RegistryWatcher {
    watcher = new RegistryWatcher({ ...registry.options, logger });
    watcher.on('change', (ev) => changes.push(ev));
    return watcher;
  }

  it('reads main session.data once, then follows agent_status events', async () => {
    registry.tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
    registry.tracker.onHeartbeat(heartbeat('observatory.b', { acq: 1 }));
    await vi.advanceTimersByTimeAsync(2000);
    registry.tracker.onHeartbeat(heartbeat('observatory.b', { acq: 1 }));
    makeWatcher();
    const synced = vi.fn();
    watcher.on('synced', synced);
    await watcher.start();
    expect(registry.calls).toEqual([['observatory.registry.ops', ['status', 'main'], {}]]);
    expect(watcher.list()).toEqual(registry.tracker.records());
    expect(synced).toHaveBeenCalledWith(registry.tracker.records());

    registry.tracker.onHeartbeat(heartbeat('observatory.b', { acq: 5 }));
    registry.tracker.onHeartbeat(heartbeat('observatory.c', { acq: 1 }));
    await vi.advanceTimersByTimeAsync(3000); // a expires
    expect(changes.map((c) => [c.event, c.agent_address])).toEqual([
      ['agent.op_changed', 'observatory.b'],
      ['agent.appeared', 'observatory.c'],
      ['agent.expired', 'observatory.a'],
    ]);
    expect(watcher.get('observatory.a')).toEqual({ ...registry.tracker.record('observatory.a') });
    expect(watcher.get('observatory.a')).toMatchObject({ expired: true, time_expired: T0_S + 5, op_codes: { acq: 7 } });
    expect(watcher.get('observatory.b')?.op_codes).toEqual({ acq: 5 });
    expect(watcher.list().map((r) => r.agent_address)).toEqual(['observatory.a', 'observatory.b', 'observatory.c']);
  });

  it('asks again while main is still starting, and takes the table once main runs', async () => {
    registry.tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
    registry.startMainLater(3);
    const logger = recordingLogger();
    makeWatcher(logger);
    const started = watcher.start();
    await vi.advanceTimersByTimeAsync(STARTING_RETRY_MS * 3);
    await started;
    expect(registry.calls).toHaveLength(4);
    expect(watcher.list()).toEqual(registry.tracker.records());
    expect(logger.at('warn')).toEqual([]);
  });

  it('takes an empty table with a warning when main stays starting', async () => {
    registry.tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
    registry.startMainLater(Number.POSITIVE_INFINITY);
    const logger = recordingLogger();
    makeWatcher(logger);
    const started = watcher.start();
    await vi.advanceTimersByTimeAsync(STARTING_WAIT_MS);
    await started;
    expect(registry.calls.length).toBe(STARTING_WAIT_MS / STARTING_RETRY_MS + 1);
    // the table read was empty; the events held meanwhile (a expired at 5 s) still apply
    expect(watcher.list().map((r) => [r.agent_address, r.expired])).toEqual([['observatory.a', true]]);
    expect(logger.at('warn').map((w) => w.msg)).toEqual(['registry main still starting; its table may be incomplete']);
    registry.startMainLater(0);
    await watcher.refresh();
    expect(watcher.list()).toEqual(registry.tracker.records());
  });

  it('removes forgotten agents', async () => {
    registry.tracker.close();
    registry = fakeRegistry();
    const tracker = new LivenessTracker({ addressRoot: 'observatory', retentionMs: 1000, afterPendingInput: confirmAtOnce });
    tracker.on('change', (ev) => registry.publish(encodeAgentStatusEvent(ev)));
    makeWatcher();
    await watcher.start();
    tracker.onHeartbeat(heartbeat('observatory.a', {}));
    await vi.advanceTimersByTimeAsync(6000);
    expect(changes.map((c) => c.event)).toEqual(['agent.appeared', 'agent.expired', 'agent.forgotten']);
    expect(watcher.get('observatory.a')).toBeUndefined();
    tracker.close();
  });

  it('holds events that arrive while the table is read and drops the stale ones', async () => {
    registry.tracker.onHeartbeat(heartbeat('observatory.a', { acq: 1 }));
    makeWatcher();
    registry.holdStatus();
    const started = watcher.start();
    await vi.advanceTimersByTimeAsync(1000);
    registry.tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
    registry.tracker.onHeartbeat(heartbeat('observatory.b', { acq: 1 }));
    expect(watcher.size).toBe(0);
    expect(changes).toEqual([]);
    // an event from before the table was read, delivered late
    const stale = encodeAgentStatusEvent({ event: 'agent.op_changed', agent_address: 'observatory.a', agent_class: 'FakeDataAgent', time: T0_S, session_id: 's1', op_name: 'acq', op_code_before: null, op_code_after: 1, record: { expired: false, time_expired: null, last_updated: T0_S, op_codes: { acq: 1 }, agent_class: 'FakeDataAgent', agent_address: 'observatory.a' } });
    registry.answerStatus();
    await started;
    registry.publish(stale);
    expect(watcher.list()).toEqual(registry.tracker.records());
    expect(watcher.get('observatory.a')?.op_codes).toEqual({ acq: 3 });
    expect(changes.map((c) => c.event)).toEqual(['agent.op_changed', 'agent.appeared']);
  });

  it('drops malformed events with a warning and keeps following', async () => {
    const logger = recordingLogger();
    makeWatcher(logger);
    await watcher.start();
    registry.publish({ event: 'agent.appeared', agent_address: 'observatory.a' });
    registry.publish('nonsense');
    registry.tracker.onHeartbeat(heartbeat('observatory.a', {}));
    expect(logger.at('warn')).toHaveLength(1);
    expect(logger.at('warn')[0]?.fields['reason']).toBe('bad_event');
    expect(watcher.get('observatory.a')?.expired).toBe(false);
  });

  it('skips malformed records of session.data', async () => {
    registry.tracker.onHeartbeat(heartbeat('observatory.a', {}));
    makeWatcher();
    const call = registry.options.call;
    watcher = new RegistryWatcher({
      ...registry.options,
      call: async (p, a, k) => {
        const reply = (await call(p, a, k)) as [number, string, { data: Record<string, unknown> }];
        reply[2].data['observatory.bad'] = { expired: 'no' };
        reply[2].data['observatory.mislabelled'] = { ...(reply[2].data['observatory.a'] as object) };
        return reply;
      },
    });
    await watcher.start();
    expect(watcher.list().map((r) => r.agent_address)).toEqual(['observatory.a']);
  });

  it('rejects start on a malformed status reply or a failed call, and still follows events', async () => {
    watcher = new RegistryWatcher({ ...registry.options, call: async () => ({ nope: true }) });
    await expect(watcher.start()).rejects.toBeInstanceOf(InternalError);
    await watcher.stop();
    const failure = new Error('wamp.error.no_such_procedure');
    watcher = new RegistryWatcher({ ...registry.options, call: async () => Promise.reject(failure) });
    await expect(watcher.start()).rejects.toBe(failure);
    registry.tracker.onHeartbeat(heartbeat('observatory.a', {}));
    expect(watcher.get('observatory.a')).toBeDefined();
  });

  it('accepts a result object with args (several results or kwargs)', async () => {
    registry.tracker.onHeartbeat(heartbeat('observatory.a', {}));
    const call = registry.options.call;
    watcher = new RegistryWatcher({ ...registry.options, call: async (p, a, k) => ({ args: [await call(p, a, k)], kwargs: {} }) });
    await watcher.start();
    expect(watcher.size).toBe(1);
  });

  it('unsubscribes on stop', async () => {
    makeWatcher();
    await watcher.start();
    await watcher.stop();
    expect(registry.unsubscribed).toEqual(['observatory.registry.feeds.agent_status']);
    registry.tracker.onHeartbeat(heartbeat('observatory.a', {}));
    expect(watcher.size).toBe(0);
  });

  it('wires to an autobahn session', async () => {
    const subscription = { id: 1, topic: 'observatory.registry.feeds.agent_status', active: true };
    let handler: ((args: unknown[] | undefined) => void) | undefined;
    const session = {
      subscribe: vi.fn(async (_topic: string, h: (args: unknown[] | undefined) => void) => {
        handler = h;
        return subscription;
      }),
      unsubscribe: vi.fn(async () => true),
      call: vi.fn(async () => [0, 'ok', { data: {} }]),
    };
    watcher = RegistryWatcher.fromSession(session as never, { registryAddress: 'observatory.registry' });
    await watcher.start();
    expect(session.subscribe).toHaveBeenCalledWith('observatory.registry.feeds.agent_status', expect.any(Function));
    expect(session.call).toHaveBeenCalledWith('observatory.registry.ops', ['status', 'main'], {});
    registry.tracker.on('change', (ev) => handler?.(overTheWire([[encodeAgentStatusEvent(ev), STATUS_FEED]]) as unknown[]));
    registry.tracker.onHeartbeat(heartbeat('observatory.a', { acq: 3 }));
    expect(watcher.get('observatory.a')?.op_codes).toEqual({ acq: 3 });
    await watcher.stop();
    expect(session.unsubscribe).toHaveBeenCalledWith(subscription);
  });
});
