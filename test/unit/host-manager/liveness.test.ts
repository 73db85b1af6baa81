import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChildLiveness, heartbeatSessionId, type LivenessSink } from '../../../agents/host-manager/liveness.js';
import type { ChildState } from '../../../lib/supervisor/child-record.js';
import { FakeHost } from '../../fixtures/host-manager-fakes.js';

const ROOT = 'obs';
const STATUS_TOPIC = `${ROOT}.registry.feeds.agent_status`;
const TIMEOUT_MS = 5000;

let host: FakeHost;
let states: Map<string, ChildState>;
let calls: string[];
let liveness: ChildLiveness;
let registryTable: Record<string, unknown>;

function record(id: string, expired: boolean): Record<string, unknown> {
  return { expired, time_expired: expired ? 1 : null, last_updated: 1, op_codes: {}, agent_class: 'FakeDataAgent', agent_address: `${ROOT}.${id}` };
}

const EVENT_FIELDS: Record<string, Record<string, unknown>> = {
  'agent.expired': { op_codes_before: {} },
  'agent.op_changed': { op_name: 'acq', op_code_before: 2, op_code_after: 3 },
  'agent.restarted': { session_id_before: 'old', was_expired: false, op_codes_before: {} },
  'agent.recovered': { time_expired_before: 1, op_codes_before: {} },
};

function statusEvent(event: string, id: string, sessionId: string, expired = false): unknown[] {
  const body = { event, agent_address: `${ROOT}.${id}`, agent_class: 'FakeDataAgent', time: Date.now() / 1000 + 1, session_id: sessionId };
  return [[{ ...body, ...EVENT_FIELDS[event], record: record(id, expired) }]];
}

function makeLiveness(sink: LivenessSink): ChildLiveness {
  return new ChildLiveness({
    addressRoot: ROOT,
    registryId: 'registry',
    agentTimeoutMs: TIMEOUT_MS,
    subscribe: (topic, handler) => host.subscribe(topic, handler as never),
    call: (procedure, args) => host.call(procedure, args),
    sink: () => sink,
  });
}

beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.UTC(2024, 0, 1));
  host = new FakeHost(ROOT, 'hm-h1');
  states = new Map();
  calls = [];
  registryTable = {};
  host.onCall = (procedure) =>
    procedure === `${ROOT}.registry.ops` && Object.keys(registryTable).length > 0 ? Promise.resolve([0, 'Session active.', { data: registryTable }]) : Promise.reject(new Error('no such procedure'));
  liveness = makeLiveness({
    onHeartbeat: (id) => {
      calls.push(`beat ${id}`);
      if (states.get(id) === 'STARTING') states.set(id, 'RUNNING');
    },
    onExpired: (id) => calls.push(`expired ${id}`),
    stateOf: (id) => states.get(id) ?? null,
  });
  await liveness.start();
});

afterEach(() => {
  liveness.stop();
  vi.useRealTimers();
});

/** Makes the registry live: its table readable and its heartbeat heard. */
async function registryUp(): Promise<void> {
  registryTable = { ...registryTable, [`${ROOT}.registry`]: record('registry', false) };
  host.beat('registry', 'reg-1');
  await vi.advanceTimersByTimeAsync(0);
}

describe('ChildLiveness', () => {
  it('reads the session id of a heartbeat event', () => {
    expect(heartbeatSessionId([[{ a: 3 }, { session_id: '17.5' }]])).toBe('17.5');
    expect(heartbeatSessionId([[{ a: 3 }, {}]])).toBeNull();
    expect(heartbeatSessionId(undefined)).toBeNull();
  });

  it('without a registry: a child is ready on its own heartbeat, and expired after the timeout of silence', async () => {
    states.set('a', 'STARTING');
    liveness.watch('a');
    liveness.onSpawned('a');
    host.beat('a', 's1');
    expect(states.get('a')).toBe('RUNNING');
    expect(liveness.status().liveness).toBe('local');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS + 1000);
    expect(calls.filter((c) => c === 'expired a')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(calls.filter((c) => c === 'expired a')).toHaveLength(1);
    host.beat('a', 's1');
    expect(calls.at(-1)).toBe('beat a');
  });

  it('ignores heartbeats and registry events of the previous run once the child is spawned again', async () => {
    await registryUp();
    states.set('a', 'STARTING');
    liveness.watch('a');
    liveness.onSpawned('a');
    host.beat('a', 's1');
    expect(states.get('a')).toBe('RUNNING');
    states.set('a', 'STARTING');
    liveness.onSpawned('a');
    calls.length = 0;
    host.beat('a', 's1');
    host.deliver(STATUS_TOPIC, statusEvent('agent.op_changed', 'a', 's1'));
    host.deliver(STATUS_TOPIC, statusEvent('agent.expired', 'a', 's1', true));
    expect(calls).toEqual([]);
    expect(states.get('a')).toBe('STARTING');
    host.deliver(STATUS_TOPIC, statusEvent('agent.restarted', 'a', 's2'));
    expect(states.get('a')).toBe('RUNNING');
  });

  it('hears the registry both as the liveness source and as a supervised child', async () => {
    liveness.stop();
    host = new FakeHost(ROOT, 'hm-h1');
    host.onCall = () => Promise.resolve([0, 'Session active.', { data: registryTable }]);
    const beats: string[] = [];
    liveness = makeLiveness({ onHeartbeat: (id) => beats.push(id), onExpired: () => undefined, stateOf: () => 'STARTING' });
    liveness.watch('registry');
    await liveness.start();
    expect(host.subscriptions.get(`${ROOT}.registry.feeds.heartbeat`)).toHaveLength(1);
    await registryUp();
    expect(beats).toEqual(['registry']);
    expect(liveness.status()).toMatchObject({ liveness: 'registry', registry_synced: true });
  });

  it('judges a child the live registry has not heard yet from its own heartbeats', async () => {
    await registryUp();
    states.set('b', 'RUNNING');
    liveness.watch('b');
    for (let i = 0; i < 7; i++) {
      host.beat('registry', 'reg-1');
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(liveness.status().liveness).toBe('registry');
    expect(calls).toEqual(['expired b']);
  });

  it('with a live registry: its expiry events decide, local silence does not', async () => {
    registryTable = { [`${ROOT}.a`]: record('a', false) };
    await registryUp();
    expect(liveness.status()).toMatchObject({ liveness: 'registry', registry_synced: true });
    states.set('a', 'RUNNING');
    liveness.watch('a');
    for (let i = 0; i < 7; i++) {
      host.beat('registry', 'reg-1');
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(calls).toEqual([]);
    host.deliver(STATUS_TOPIC, statusEvent('agent.expired', 'a', 's9', true));
    expect(calls).toEqual(['expired a']);
    host.deliver(STATUS_TOPIC, statusEvent('agent.recovered', 'a', 's9'));
    expect(calls).toEqual(['expired a', 'beat a']);
  });

  it('falls back to local expiry when the registry stops beating, and takes expiry from its table when it returns', async () => {
    await registryUp();
    states.set('a', 'RUNNING');
    liveness.watch('a');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS + 2000);
    expect(liveness.status().liveness).toBe('local');
    expect(calls).toEqual(['expired a']);
    registryTable = { [`${ROOT}.a`]: record('a', false) };
    host.beat('registry', 'reg-2');
    await vi.advanceTimersByTimeAsync(0);
    expect(liveness.status().liveness).toBe('registry');
    expect(calls).toEqual(['expired a', 'beat a']);
  });
});
