import { describe, expect, it } from 'vitest';
import { floatManagementReply, floatOpsReply, floatSessionTimes } from '../../../lib/agent/wire-floats.js';
import { encodeJson } from '../../../lib/wamp/json-codec.js';
import { encodeSessionData } from '../../../lib/ops/session-data.js';
import { WampFloat } from '../../../lib/wamp/float.js';

const session = (startS: number, endS: number | null) => ({
  session_id: 0,
  op_name: 'x',
  op_code: 5,
  cred_level: 1,
  status: 'done',
  degraded: false,
  success: true,
  start_time: startS,
  end_time: endS,
  data: {},
  messages: [[startS, 'Status is now "starting".']],
});

describe('wire-floats', () => {
  it('writes session times that fall on a whole second as floats', () => {
    const wire = encodeJson(floatOpsReply([0, 'Session active.', session(1700000000, 1700000001.5)]));
    expect(wire).toContain('"start_time":1700000000.0');
    expect(wire).toContain('"end_time":1700000001.5');
    expect(wire).toContain('[[1700000000.0,"Status is now \\"starting\\"."]]');
  });

  it('leaves empty sessions, placeholders and null end times as they are', () => {
    expect(floatSessionTimes({})).toEqual({});
    expect(floatSessionTimes({ op_name: 'x', status: 'no_history' })).toEqual({ op_name: 'x', status: 'no_history' });
    expect(encodeJson(floatSessionTimes(session(1.25, null)))).toContain('"end_time":null');
  });

  it('keeps the sessions of get_api and get_tasks as floats and the key order of get_api', () => {
    const api = { agent_class: 'A', feeds: [['heartbeat', { record: false }]], processes: [['p', session(2, null), { op_type: 'process' }]], tasks: [], access_control: {} };
    const out = floatManagementReply(api) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(Object.keys(api));
    expect(((out['processes'] as unknown[][])[0]![1] as Record<string, unknown>)['start_time']).toBeInstanceOf(WampFloat);
    expect(encodeJson(floatManagementReply([['t', session(3, 4), {}]]))).toContain('"start_time":3.0');
    expect(floatManagementReply('FakeDataAgent')).toBe('FakeDataAgent');
  });

  it('keeps float markers an op put in its session data', () => {
    expect(encodeJson(encodeSessionData({ last_updated: new WampFloat(1700000000), n: 3 }))).toBe('{"last_updated":1700000000.0,"n":3}');
  });
});
