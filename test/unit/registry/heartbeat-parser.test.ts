import { describe, expect, it } from 'vitest';
import { heartbeatSchema, parseHeartbeat, type HeartbeatParseOptions } from '../../../lib/registry/heartbeat-parser.js';
import { WampFloat } from '../../../lib/wamp/float.js';

const OPTIONS: HeartbeatParseOptions = { addressRoot: 'observatory', maxOps: 4, maxNameLength: 20 };

function feed(address: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    agent_address: address,
    agg_params: {},
    feed_name: 'heartbeat',
    address: `${String(address)}.feeds.heartbeat`,
    record: false,
    session_id: '1700000000.5432',
    agent_class: 'FakeDataAgent',
    ...extra,
  };
}

const VALID: Array<[string, unknown]> = [
  ['an OCS heartbeat', [[{ acq: 3, count: 3, set_heartbeat: 1, delay_task: 5 }, feed('observatory.fake-data1')]]],
  ['no ops', [[{}, feed('observatory.x')]]],
  ['upper case and dashes', [[{ acq: 1 }, feed('observatory.LSA22BB-2')]]],
  ['no agent_class', [[{ acq: 1 }, feed('observatory.x', { agent_class: undefined })]]],
  ['null agent_class and session_id', [[{ acq: 1 }, feed('observatory.x', { agent_class: null, session_id: null })]]],
  ['a numeric session_id', [[{ acq: 1 }, feed('observatory.x', { session_id: 1700000000.5 })]]],
  ['codes decoded as floats', [[{ acq: new WampFloat(3) }, feed('observatory.x')]]],
  ['legacy 0', [[0, feed('observatory.old')]]],
  ['legacy null', [[null, feed('observatory.old')]]],
];

const JUNK: Array<[string, unknown, string]> = [
  ['undefined', undefined, 'not_a_list'],
  ['a string', 'hello', 'not_a_list'],
  ['a bare object', { agent_address: 'observatory.x' }, 'not_a_list'],
  ['an empty list', [], 'not_a_list'],
  ['args not nested', [{ acq: 1 }, feed('observatory.x')], 'not_a_list'],
  ['two positional args', [[{ acq: 1 }, feed('observatory.x')], 'extra'], 'wrong_length'],
  ['three elements', [[{ acq: 1 }, feed('observatory.x'), 1]], 'wrong_length'],
  ['one element', [[{ acq: 1 }]], 'wrong_length'],
  ['feed not a map', [[{ acq: 1 }, 'observatory.x']], 'feed_not_a_map'],
  ['feed a list', [[{ acq: 1 }, ['observatory.x']]], 'feed_not_a_map'],
  ['no agent_address', [[{ acq: 1 }, { feed_name: 'heartbeat' }]], 'no_agent_address'],
  ['empty agent_address', [[{ acq: 1 }, feed('')]], 'no_agent_address'],
  ['numeric agent_address', [[{ acq: 1 }, feed(42)]], 'no_agent_address'],
  ['another root', [[{ acq: 1 }, feed('elsewhere.x')]], 'address_outside_root'],
  ['root as a prefix only', [[{ acq: 1 }, feed('observatoryx.y')]], 'address_outside_root'],
  ['the root itself', [[{ acq: 1 }, feed('observatory')]], 'address_outside_root'],
  ['empty instance id', [[{ acq: 1 }, feed('observatory.')]], 'bad_address'],
  ['dotted instance id', [[{ acq: 1 }, feed('observatory.a.b')]], 'bad_address'],
  ['instance id with a space', [[{ acq: 1 }, feed('observatory.a b')]], 'bad_address'],
  ['instance id with #', [[{ acq: 1 }, feed('observatory.a#')]], 'bad_address'],
  ['instance id with a control character', [[{ acq: 1 }, feed('observatory.a\u0001')]], 'bad_address'],
  ['instance id too long', [[{ acq: 1 }, feed(`observatory.${'x'.repeat(21)}`)]], 'name_too_long'],
  ['agent_class a number', [[{ acq: 1 }, feed('observatory.x', { agent_class: 5 })]], 'bad_feed_field'],
  ['agent_class too long', [[{ acq: 1 }, feed('observatory.x', { agent_class: 'A'.repeat(21) })]], 'name_too_long'],
  ['session_id a map', [[{ acq: 1 }, feed('observatory.x', { session_id: {} })]], 'bad_feed_field'],
  ['session_id too long', [[{ acq: 1 }, feed('observatory.x', { session_id: '1'.repeat(21) })]], 'name_too_long'],
  ['op codes a list', [[[3, 3], feed('observatory.x')]], 'op_codes_not_a_map'],
  ['op codes a string', [['acq', feed('observatory.x')]], 'op_codes_not_a_map'],
  ['op codes a boolean', [[true, feed('observatory.x')]], 'op_codes_not_a_map'],
  ['a string op code', [[{ acq: '3' }, feed('observatory.x')]], 'bad_op_code'],
  ['a fractional op code', [[{ acq: 3.5 }, feed('observatory.x')]], 'bad_op_code'],
  ['a null op code', [[{ acq: null }, feed('observatory.x')]], 'bad_op_code'],
  ['a boolean op code', [[{ acq: true }, feed('observatory.x')]], 'bad_op_code'],
  ['a fractional wrapped op code', [[{ acq: new WampFloat(3.5) }, feed('observatory.x')]], 'bad_op_code'],
  ['an empty op name', [[{ '': 3 }, feed('observatory.x')]], 'bad_op_name'],
  ['op name __proto__', [[JSON.parse('{"__proto__": 3}'), feed('observatory.x')]], 'bad_op_name'],
  ['an op name too long', [[{ ['o'.repeat(21)]: 3 }, feed('observatory.x')]], 'name_too_long'],
  ['too many ops', [[{ a: 1, b: 1, c: 1, d: 1, e: 1 }, feed('observatory.x')]], 'too_many_ops'],
];

describe('parseHeartbeat', () => {
  it('returns the address, class, session and op codes of an OCS heartbeat', () => {
    const result = parseHeartbeat(VALID[0]?.[1], OPTIONS, { topic: 'observatory.fake-data1.feeds.heartbeat' });
    expect(result).toEqual({
      ok: true,
      beat: {
        agentAddress: 'observatory.fake-data1',
        agentClass: 'FakeDataAgent',
        sessionId: '1700000000.5432',
        opCodes: { acq: 3, count: 3, set_heartbeat: 1, delay_task: 5 },
      },
    });
  });

  it.each(VALID)('accepts %s', (_name, args) => {
    expect(parseHeartbeat(args, OPTIONS).ok).toBe(true);
  });

  it.each(JUNK)('refuses %s', (_name, args, reason) => {
    const result = parseHeartbeat(args, OPTIONS);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe(reason);
  });

  it('marks a legacy heartbeat (0 instead of op codes) with null op codes', () => {
    const result = parseHeartbeat([[0, feed('observatory.old')]], OPTIONS);
    expect(result.ok && result.beat.opCodes).toBeNull();
  });

  it('unwraps integral codes the codec decoded as floats', () => {
    const result = parseHeartbeat([[{ acq: new WampFloat(3), b: 1 }, feed('observatory.x')]], OPTIONS);
    expect(result.ok && result.beat.opCodes).toEqual({ acq: 3, b: 1 });
  });

  it('turns a numeric session_id into a string', () => {
    const result = parseHeartbeat([[{}, feed('observatory.x', { session_id: 1700000000.5 })]], OPTIONS);
    expect(result.ok && result.beat.sessionId).toBe('1700000000.5');
  });

  it('refuses a heartbeat published on another agent topic', () => {
    const result = parseHeartbeat([[{ acq: 1 }, feed('observatory.victim')]], OPTIONS, { topic: 'observatory.mallory.feeds.heartbeat' });
    expect(result).toMatchObject({ ok: false, reason: 'topic_mismatch', agentAddress: 'observatory.victim' });
    expect(parseHeartbeat([[{ acq: 1 }, feed('observatory.victim')]], OPTIONS, { topic: 'observatory.victim.feeds.heartbeat' }).ok).toBe(true);
  });

  it('with agent identities, takes a heartbeat only from the identity of its address', () => {
    const strict = { ...OPTIONS, requirePublisherIdentity: true };
    const beat = [[{ acq: 1 }, feed('observatory.victim')]];
    expect(parseHeartbeat(beat, strict, { topic: 'observatory.victim.feeds.heartbeat', publisher_authid: 'victim' }).ok).toBe(true);
    expect(parseHeartbeat(beat, strict, { publisher_authid: 'mallory' })).toMatchObject({ ok: false, reason: 'publisher_mismatch', detail: "heartbeat for observatory.victim published by identity 'mallory'" });
    expect(parseHeartbeat(beat, strict, { publisher_authid: 'xvictim' })).toMatchObject({ reason: 'publisher_mismatch' });
    expect(parseHeartbeat(beat, strict, { publisher_authid: 'tim' })).toMatchObject({ reason: 'publisher_mismatch' });
    expect(parseHeartbeat(beat, strict, {})).toMatchObject({ reason: 'publisher_mismatch', detail: 'heartbeat for observatory.victim published by an undisclosed publisher' });
    // without identities the publisher is not asked about
    expect(parseHeartbeat(beat, OPTIONS, { publisher_authid: 'mallory' }).ok).toBe(true);
  });

  it('takes an address root that contains dots', () => {
    expect(parseHeartbeat([[{}, feed('org.site.x')]], { addressRoot: 'org.site' }).ok).toBe(true);
    expect(parseHeartbeat([[{}, feed('org.x')]], { addressRoot: 'org.site' })).toMatchObject({ reason: 'address_outside_root' });
  });

  it('refuses a self-referencing list', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(parseHeartbeat(cyclic, OPTIONS)).toMatchObject({ ok: false, reason: 'wrong_length' });
  });

  it('agrees with the zod schema on every case', () => {
    const schema = heartbeatSchema(OPTIONS);
    for (const [name, args] of [...VALID, ...JUNK.map(([n, a]) => [n, a] as const)]) {
      expect(schema.safeParse(args).success, name).toBe(parseHeartbeat(args, OPTIONS).ok);
    }
  });
});
