import { describe, expect, it } from 'vitest';
import { ALIVE_WINDOW_MS, AgentDirectory, MAX_EVENTS, MAX_PROBLEMS } from '../../../lib/console/agent-directory.js';

const ROOT = 'observatory';

function feed(address: string, sessionId = '1700000000.5', agentClass: string | null = 'FakeDataAgent') {
  return { agent_address: address, agg_params: {}, feed_name: 'heartbeat', address: `${address}.feeds.heartbeat`, record: false, session_id: sessionId, agent_class: agentClass };
}
const beat = (id: string, codes: Record<string, number> = { acq: 3 }, sessionId?: string) => [[codes, feed(`${ROOT}.${id}`, sessionId)]];
const topic = (id: string) => `${ROOT}.${id}.feeds.heartbeat`;

function directory() {
  const clock = { nowMs: 1_000_000 };
  const dir = new AgentDirectory({ addressRoot: ROOT, registryAddress: `${ROOT}.registry`, nowMs: () => clock.nowMs });
  return { dir, clock };
}

const API = {
  agent_class: 'FakeDataAgent',
  instance_hostname: 'vm',
  instance_pid: 42,
  feeds: [['false_temperatures', { record: true }]],
  tasks: [['delay_task', { op_name: 'delay_task', status: 'no_history' }, { blocking: false, abortable: true, docstring: 'delay_task(delay=5)', op_type: 'task' }]],
  processes: [['acq', { op_name: 'acq', status: 'no_history' }, { blocking: false, docstring: null, op_type: 'process' }]],
  access_control: null,
};

const SESSION = {
  session_id: 0,
  op_name: 'delay_task',
  op_code: 3,
  cred_level: 1,
  status: 'running',
  degraded: false,
  success: null,
  start_time: 1700000000.5,
  end_time: null,
  data: {},
  messages: [[1700000000.5, 'Status is now "running".']],
};

describe('AgentDirectory', () => {
  it('discovers an agent on its first heartbeat and asks for its API once', () => {
    const { dir } = directory();
    expect(dir.applyHeartbeat(beat('fake-data1'), topic('fake-data1'))).toBe(`${ROOT}.fake-data1`);
    const agent = dir.byInstanceId('fake-data1')!;
    expect(agent).toMatchObject({ instanceId: 'fake-data1', agentClass: 'FakeDataAgent', opCodes: { acq: 3 }, isExpired: false });
    dir.applyApi(agent.address, API);
    expect(dir.applyHeartbeat(beat('fake-data1', { acq: 5 }), topic('fake-data1'))).toBeNull();
    expect(agent.opCodes).toEqual({ acq: 5 });
    expect(agent.api?.tasks[0]?.[0]).toBe('delay_task');
  });

  it('asks for the API again and drops old sessions when the feed session_id changes (a new process)', () => {
    const { dir } = directory();
    dir.applyHeartbeat(beat('a', { acq: 3 }, '1'), topic('a'));
    dir.applyApi(`${ROOT}.a`, API);
    dir.applyOpReply(`${ROOT}.a`, 'delay_task', [0, 'ok', SESSION]);
    expect(Object.keys(dir.byInstanceId('a')!.sessions)).toEqual(['delay_task']);
    expect(dir.applyHeartbeat(beat('a', { acq: 1 }, '2'), topic('a'))).toBe(`${ROOT}.a`);
    expect(dir.byInstanceId('a')!.sessions).toEqual({});
  });

  it('marks an agent expired once its last beat is older than 5 s, and alive again on the next beat', () => {
    const { dir, clock } = directory();
    dir.applyHeartbeat(beat('a'), topic('a'));
    clock.nowMs += ALIVE_WINDOW_MS;
    expect(dir.tick()).toBe(false);
    expect(dir.byInstanceId('a')!.isExpired).toBe(false);
    clock.nowMs += 1;
    expect(dir.tick()).toBe(true);
    expect(dir.byInstanceId('a')!.isExpired).toBe(true);
    expect(dir.size).toBe(1);
    dir.applyHeartbeat(beat('a'), topic('a'));
    expect(dir.byInstanceId('a')!.isExpired).toBe(false);
  });

  it('keeps a junk heartbeat as a problem of the agent whose topic carried it, bounded, and never creates the agent it claims', () => {
    const { dir } = directory();
    for (let i = 0; i < MAX_PROBLEMS + 3; i++) dir.applyHeartbeat([[{ acq: 'running' }, feed(`${ROOT}.bot`)]], topic('bot'));
    dir.applyHeartbeat([[{ acq: 3 }, feed(`${ROOT}.victim`)]], topic('bot'));
    const bot = dir.byInstanceId('bot')!;
    expect(bot.problems).toHaveLength(MAX_PROBLEMS);
    expect(bot.problems.at(-1)!.text).toMatch(/^heartbeat refused \(topic_mismatch\)/);
    expect(bot.problems[0]!.text).toMatch(/^heartbeat refused \(bad_op_code\): op acq/);
    expect(dir.byInstanceId('victim')).toBeUndefined();
    dir.applyHeartbeat('hello', 'elsewhere.x.feeds.heartbeat');
    expect(dir.wireProblems.at(-1)!.text).toMatch(/^heartbeat refused \(not_a_list\)/);
  });

  it('keeps a get_api reply that does not parse as the agent\'s API error', () => {
    const { dir } = directory();
    dir.applyHeartbeat(beat('a'), topic('a'));
    dir.applyApi(`${ROOT}.a`, { agent_class: 'X', tasks: 'none' });
    const a = dir.byInstanceId('a')!;
    expect(a.api).toBeNull();
    expect(a.apiError).toMatch(/^get_api reply refused: (processes|tasks): /);
    dir.apiFailed(`${ROOT}.a`, 'wamp.error.no_such_procedure');
    expect(a.apiError).toBe('get_api failed: wamp.error.no_such_procedure');
  });

  it('stores op sessions from replies and refuses a reply of the wrong shape', () => {
    const { dir } = directory();
    dir.applyOpReply(`${ROOT}.a`, 'delay_task', [0, 'Started', SESSION]);
    expect(dir.byInstanceId('a')!.sessions['delay_task']!.status).toBe('running');
    dir.applyOpReply(`${ROOT}.a`, 'delay_task', [0, 'no session', {}]);
    expect(dir.byInstanceId('a')!.sessions['delay_task']!.status).toBe('running');
    dir.applyOpReply(`${ROOT}.a`, 'delay_task', { status: 'ok' });
    expect(dir.byInstanceId('a')!.problems.at(-1)!.text).toMatch(/^reply for op delay_task refused/);
  });

  it("takes the Registry's records from main's session data, agents it alone knows included", () => {
    const { dir } = directory();
    const record = (id: string, expired: boolean) => ({ expired, time_expired: expired ? 1700000100 : null, last_updated: 1700000000, op_codes: { acq: expired ? 7 : 3 }, agent_class: 'FakeDataAgent', agent_address: `${ROOT}.${id}` });
    dir.applyHeartbeat(beat('live'), topic('live'));
    const main = { ...SESSION, op_name: 'main', data: { [`${ROOT}.live`]: record('live', false), [`${ROOT}.gone`]: record('gone', true), [`${ROOT}.bad`]: { expired: 'no' } } };
    dir.applyRegistryStatus([0, 'ok', main]);
    expect(dir.byInstanceId('live')!.registry).toMatchObject({ expired: false });
    expect(dir.byInstanceId('gone')).toMatchObject({ isExpired: true, lastBeatAtMs: null, opCodes: { acq: 7 } });
    expect(dir.byInstanceId('bad')!.problems[0]!.text).toMatch(/^registry record refused/);
    dir.applyRegistryStatus('junk');
    expect(dir.registryProblem).toMatch(/^registry status refused/);
  });

  it('streams agent_status events, counts restarts, and keeps the last MAX_EVENTS', () => {
    const { dir } = directory();
    const rec = { expired: false, time_expired: null, last_updated: 1700000000, op_codes: {}, agent_class: 'A', agent_address: `${ROOT}.a` };
    for (let i = 0; i < MAX_EVENTS + 5; i++) dir.applyRegistryEvent({ event: 'agent.restarted', agent_address: `${ROOT}.a`, time: 1700000000 + i, session_id: 's', record: rec });
    expect(dir.events).toHaveLength(MAX_EVENTS);
    expect(dir.byInstanceId('a')!.restarts).toBe(MAX_EVENTS + 5);
    expect(dir.events.at(-1)).toMatchObject({ event: 'agent.restarted', agentAddress: `${ROOT}.a`, detail: 'session_id="s"' });
    dir.applyRegistryEvent({ event: 42 });
    expect(dir.wireProblems.at(-1)!.text).toMatch(/^agent_status event refused/);
  });
});
