import { describe, expect, it } from 'vitest';
import { AgentRecordSchema, encodeRecord, type AgentRecord } from '../../../lib/registry/agent-record.js';
import { AgentStatusEventSchema, encodeAgentStatusEvent, type AgentStatusEvent } from '../../../lib/registry/agent-status-event.js';
import { operationField } from '../../../lib/registry/operation-field.js';
import { WampFloat } from '../../../lib/wamp/float.js';

const RECORD: AgentRecord = {
  expired: true,
  time_expired: 1669925718,
  last_updated: 1669925713.408,
  op_codes: { record: 7 },
  agent_class: 'AggregatorAgent',
  agent_address: 'observatory.aggregator',
};

describe('encodeRecord', () => {
  it('keeps OCS key order and marks times as floats', () => {
    const wire = encodeRecord({ agent_address: 'observatory.x', agent_class: null, op_codes: {}, last_updated: 5, time_expired: null, expired: false });
    expect(Object.keys(wire)).toEqual(['expired', 'time_expired', 'last_updated', 'op_codes', 'agent_class', 'agent_address']);
    expect(wire.last_updated).toEqual(new WampFloat(5));
    expect(wire.time_expired).toBeNull();
    expect(encodeRecord(RECORD).time_expired).toEqual(new WampFloat(1669925718));
  });
});

describe('AgentRecordSchema', () => {
  it('reads a record whose integral times were decoded as floats', () => {
    const parsed = AgentRecordSchema.parse({ ...RECORD, time_expired: new WampFloat(1669925718), last_updated: 1669925713.408 });
    expect(parsed).toEqual(RECORD);
  });

  it('refuses non-integer op codes and missing keys', () => {
    expect(AgentRecordSchema.safeParse({ ...RECORD, op_codes: { record: 'x' } }).success).toBe(false);
    expect(AgentRecordSchema.safeParse({ ...RECORD, op_codes: { record: 2.5 } }).success).toBe(false);
    const { expired: _expired, ...rest } = RECORD;
    expect(AgentRecordSchema.safeParse(rest).success).toBe(false);
  });
});

describe('encodeAgentStatusEvent', () => {
  it('marks every time as a float and keeps key order', () => {
    const event: AgentStatusEvent = {
      event: 'agent.recovered',
      agent_address: 'observatory.aggregator',
      agent_class: 'AggregatorAgent',
      time: 1669925720,
      session_id: '1669925000.1',
      time_expired_before: 1669925718,
      op_codes_before: { record: 7 },
      record: { ...RECORD, expired: false, time_expired: null, last_updated: 1669925720, op_codes: { record: 3 } },
    };
    const wire = encodeAgentStatusEvent(event);
    expect(Object.keys(wire)).toEqual(['event', 'agent_address', 'agent_class', 'time', 'session_id', 'time_expired_before', 'op_codes_before', 'record']);
    expect(wire['time']).toEqual(new WampFloat(1669925720));
    expect(wire['time_expired_before']).toEqual(new WampFloat(1669925718));
    expect((wire['record'] as { last_updated: unknown }).last_updated).toEqual(new WampFloat(1669925720));
    expect(AgentStatusEventSchema.parse(wire)).toEqual(event);
  });

  it('is refused by the schema when a field is missing or the event unknown', () => {
    const base = { agent_address: 'observatory.x', agent_class: null, time: 1, session_id: null, record: RECORD };
    expect(AgentStatusEventSchema.safeParse({ event: 'agent.appeared', ...base }).success).toBe(true);
    expect(AgentStatusEventSchema.safeParse({ event: 'agent.op_changed', ...base, op_name: 'acq', op_code_before: null }).success).toBe(false);
    expect(AgentStatusEventSchema.safeParse({ event: 'agent.exploded', ...base }).success).toBe(false);
    expect(AgentStatusEventSchema.safeParse({ event: 'agent.forgotten', ...base, reason: 'bored' }).success).toBe(false);
  });
});

describe('operationField', () => {
  it.each([
    ['observatory.fake-data1', 'acq', 'observatory_fake_data1_acq'],
    ['observatory.LSA22BB', 'set-heartbeat', 'observatory_LSA22BB_set_heartbeat'],
    ['observatory.x', 'temp K', 'observatory_x_temp_K'],
    ['observatory.x', 'é', 'observatory_x_'],
    ['9root.x', 'acq', 'root_x_acq'],
  ])('names %s + %s as %s', (address, op, field) => {
    expect(operationField(address, op)).toEqual({ ok: true, field });
  });

  it('truncates to 255 characters', () => {
    const result = operationField('observatory.x', 'o'.repeat(300));
    expect(result.ok && result.field.length).toBe(255);
  });
});
