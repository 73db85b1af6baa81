/**
 * Validation of the heartbeats every agent publishes at 1 Hz on `{agent_address}.feeds.heartbeat`
 * (ocs-protocol §3.1): EVENT `Arguments = [[op_codes, feed_encoded]]`, where `op_codes` maps each
 * op name to its integer op code and `feed_encoded` is the heartbeat feed's `Feed.encoded()`.
 *
 * The Registry hears every peer on the router, so anything may arrive here. `parseHeartbeat` is a
 * hand-written validator that walks the payload once without copying it (10,000 agents beating
 * at 1 Hz must cost little); `heartbeatSchema()` is the same contract written in zod, kept as the
 * documented shape and checked against the validator by the tests.
 *
 * Legacy heartbeats. Old OCS agents sent the integer `0` instead of the op-code map. OCS's
 * registry refreshes such an agent and leaves its op codes untouched (`if op_codes:` guard);
 * `ocs-client-cli scan` shows it as `{"old_agent_no_opcodes": 7}`. Here a number (any number,
 * `0` in practice) or `null` in that place is a legacy heartbeat: the beat is valid and carries
 * `opCodes: null`, and the tracker keeps the agent live without inventing op names (so no
 * `..._old_agent_no_opcodes` series appears in the agent_operations feed). Any other non-map
 * (string, list, boolean) is junk.
 */
import { z } from 'zod';
import { isWampFloat } from '../wamp/float.js';

/** At most this many ops per heartbeat (OCS agents have a few dozen at most). */
export const MAX_OPS_PER_AGENT = 256;
/** Longest op name, instance id, agent class or session id accepted. */
export const MAX_NAME_LENGTH = 255;

/** Why a heartbeat was refused. */
export const HeartbeatRejectReason = {
  /** The EVENT arguments, or their first element, is not a list. */
  NOT_A_LIST: 'not_a_list',
  /** Not exactly one positional argument holding exactly `[op_codes, feed]`. */
  WRONG_LENGTH: 'wrong_length',
  FEED_NOT_A_MAP: 'feed_not_a_map',
  NO_AGENT_ADDRESS: 'no_agent_address',
  /** `agent_address` does not start with `{address_root}.`. */
  ADDRESS_OUTSIDE_ROOT: 'address_outside_root',
  /** The instance id part is empty or holds `.`, `#`, whitespace or control characters. */
  BAD_ADDRESS: 'bad_address',
  /** The event's topic is not `{agent_address}.feeds.heartbeat`. */
  TOPIC_MISMATCH: 'topic_mismatch',
  /** `agent_class` or `session_id` has the wrong type. */
  BAD_FEED_FIELD: 'bad_feed_field',
  OP_CODES_NOT_A_MAP: 'op_codes_not_a_map',
  TOO_MANY_OPS: 'too_many_ops',
  /** An empty op name, or `__proto__`. */
  BAD_OP_NAME: 'bad_op_name',
  /** An op code that is not an integer. */
  BAD_OP_CODE: 'bad_op_code',
  /** An op name, instance id, agent class or session id longer than the limit. */
  NAME_TOO_LONG: 'name_too_long',
  /** Agent identities in use, and the disclosed publisher is not the address's instance id. */
  PUBLISHER_MISMATCH: 'publisher_mismatch',
} as const;
export type HeartbeatRejectReason = (typeof HeartbeatRejectReason)[keyof typeof HeartbeatRejectReason];

export interface HeartbeatParseOptions {
  /** `hub.address_root`, e.g. `observatory`. */
  addressRoot: string;
  /** Default MAX_OPS_PER_AGENT. */
  maxOps?: number;
  /** Default MAX_NAME_LENGTH. */
  maxNameLength?: number;
  /**
   * Agent identities in use: the event's disclosed `publisher_authid` must be the instance id
   * of the address it beats for (an undisclosed publisher is refused too).
   */
  requirePublisherIdentity?: boolean;
}

/** What parseHeartbeat reads of the EVENT details. */
export interface HeartbeatEventDetails {
  topic?: string;
  publisher_authid?: string;
}

export interface ParsedHeartbeat {
  agentAddress: string;
  agentClass: string | null;
  /** The feed's `session_id` (the agent process's start time as a string); null when absent. */
  sessionId: string | null;
  /** op_name → op code, in the order sent; null for a legacy heartbeat. */
  opCodes: Readonly<Record<string, number>> | null;
}

export type HeartbeatParseResult =
  | { ok: true; beat: ParsedHeartbeat }
  | { ok: false; reason: HeartbeatRejectReason; detail: string; agentAddress?: string };

const HEARTBEAT_TOPIC_SUFFIX = '.feeds.heartbeat';
/** An instance id: no `.`, `#`, whitespace or control characters (crossbar's loose URI rules). */
const INSTANCE_ID = /[^.#\s\u0000-\u001f\u007f]+$/y;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function reject(reason: HeartbeatRejectReason, detail: string, agentAddress?: string): HeartbeatParseResult {
  return agentAddress === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, agentAddress };
}

/**
 * Why `address` is not an agent address under `addressRoot` (`{root}.{instance_id}`), or null
 * when it is one.
 */
export function agentAddressProblem(address: string, addressRoot: string, maxNameLength = MAX_NAME_LENGTH): HeartbeatRejectReason | null {
  const prefixLength = addressRoot.length + 1;
  if (!address.startsWith(addressRoot) || address.charCodeAt(addressRoot.length) !== 46 /* . */) {
    return HeartbeatRejectReason.ADDRESS_OUTSIDE_ROOT;
  }
  if (address.length - prefixLength > maxNameLength) return HeartbeatRejectReason.NAME_TOO_LONG;
  INSTANCE_ID.lastIndex = prefixLength;
  return INSTANCE_ID.test(address) ? null : HeartbeatRejectReason.BAD_ADDRESS;
}

/** An integral op code as a number, or undefined. Codecs hand integral floats (`3.0`) over as WampFloat. */
function opCodeValue(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (isWampFloat(v) && Number.isSafeInteger(v.value)) return v.value;
  return undefined;
}

/**
 * Checks one heartbeat. `args` are the EVENT's positional arguments; `details.topic` (the
 * concrete topic of a wildcard subscription), when given, must be the heartbeat topic of the
 * address the feed names, so a peer cannot beat for another agent from its own topic.
 * Never throws.
 */
export function parseHeartbeat(args: unknown, options: HeartbeatParseOptions, details?: HeartbeatEventDetails): HeartbeatParseResult {
  const maxOps = options.maxOps ?? MAX_OPS_PER_AGENT;
  const maxNameLength = options.maxNameLength ?? MAX_NAME_LENGTH;
  if (!Array.isArray(args) || !Array.isArray(args[0])) return reject('not_a_list', 'expected [[op_codes, feed]]');
  if (args.length !== 1) return reject('wrong_length', `expected 1 positional argument, got ${args.length}`);
  const pair = args[0] as unknown[];
  if (pair.length !== 2) return reject('wrong_length', `expected [op_codes, feed], got ${pair.length} elements`);
  const rawOpCodes = pair[0];
  const feed = pair[1];
  if (!isPlainObject(feed)) return reject('feed_not_a_map', 'feed is not a map');

  const address = feed['agent_address'];
  if (typeof address !== 'string' || address === '') return reject('no_agent_address', 'feed has no agent_address');
  const problem = agentAddressProblem(address, options.addressRoot, maxNameLength);
  if (problem !== null) return reject(problem, `agent_address ${address.slice(0, 80)}`);

  const topic = details?.topic;
  if (
    typeof topic === 'string' &&
    !(topic.length === address.length + HEARTBEAT_TOPIC_SUFFIX.length && topic.startsWith(address) && topic.endsWith(HEARTBEAT_TOPIC_SUFFIX))
  ) {
    return reject('topic_mismatch', `heartbeat for ${address} on topic ${topic.slice(0, 120)}`, address);
  }
  if (options.requirePublisherIdentity === true) {
    const authid = details?.publisher_authid;
    if (authid === undefined || authid.length !== address.length - options.addressRoot.length - 1 || !address.endsWith(authid)) {
      return reject('publisher_mismatch', `heartbeat for ${address} published by ${authid === undefined ? 'an undisclosed publisher' : `identity '${authid.slice(0, 80)}'`}`, address);
    }
  }

  let agentClass: string | null = null;
  const rawClass = feed['agent_class'];
  if (typeof rawClass === 'string') {
    if (rawClass.length > maxNameLength) return reject('name_too_long', 'agent_class too long', address);
    agentClass = rawClass;
  } else if (rawClass !== undefined && rawClass !== null) {
    return reject('bad_feed_field', 'agent_class is not a string', address);
  }

  let sessionId: string | null = null;
  const rawSession = feed['session_id'];
  if (typeof rawSession === 'string') {
    if (rawSession.length > maxNameLength) return reject('name_too_long', 'session_id too long', address);
    sessionId = rawSession;
  } else if (typeof rawSession === 'number' || isWampFloat(rawSession)) {
    sessionId = String(rawSession.valueOf());
  } else if (rawSession !== undefined && rawSession !== null) {
    return reject('bad_feed_field', 'session_id is not a string', address);
  }

  if (rawOpCodes === null || (typeof rawOpCodes === 'number' && Number.isFinite(rawOpCodes)) || isWampFloat(rawOpCodes)) {
    return { ok: true, beat: { agentAddress: address, agentClass, sessionId, opCodes: null } };
  }
  if (!isPlainObject(rawOpCodes)) return reject('op_codes_not_a_map', 'op codes are not a map', address);

  let count = 0;
  let hasWrappedCode = false;
  for (const name in rawOpCodes) {
    if (++count > maxOps) return reject('too_many_ops', `more than ${maxOps} ops`, address);
    if (name === '' || name === '__proto__') return reject('bad_op_name', `op name ${JSON.stringify(name)}`, address);
    if (name.length > maxNameLength) return reject('name_too_long', `op name of ${name.length} characters`, address);
    const raw = rawOpCodes[name];
    if (typeof raw !== 'number') {
      if (opCodeValue(raw) === undefined) return reject('bad_op_code', `op ${name.slice(0, 80)}: op code is not an integer`, address);
      hasWrappedCode = true;
    } else if (!Number.isSafeInteger(raw)) {
      return reject('bad_op_code', `op ${name.slice(0, 80)}: op code ${raw} is not an integer`, address);
    }
  }

  let opCodes = rawOpCodes as Record<string, number>;
  if (hasWrappedCode) {
    opCodes = {};
    for (const name in rawOpCodes) opCodes[name] = opCodeValue(rawOpCodes[name]) as number;
  }
  return { ok: true, beat: { agentAddress: address, agentClass, sessionId, opCodes } };
}

/**
 * The heartbeat contract of `parseHeartbeat` in zod (apart from the topic check, which needs the
 * event details). Not used on the hot path.
 */
export function heartbeatSchema(options: HeartbeatParseOptions) {
  const maxOps = options.maxOps ?? MAX_OPS_PER_AGENT;
  const maxNameLength = options.maxNameLength ?? MAX_NAME_LENGTH;
  const opCode = z.preprocess((v) => (isWampFloat(v) ? v.value : v), z.int());
  const opCodes = z
    .custom<object>((v) => isPlainObject(v) && !Object.hasOwn(v, '__proto__'), { message: 'op codes must be a map without __proto__' })
    .pipe(z.record(z.string().min(1).max(maxNameLength), opCode))
    .refine((m) => Object.keys(m).length <= maxOps, { message: `more than ${maxOps} ops` });
  const legacy = z.union([z.null(), z.number(), z.custom((v) => isWampFloat(v))]);
  const feed = z.looseObject({
    agent_address: z
      .string()
      .min(1)
      .refine((a) => agentAddressProblem(a, options.addressRoot, maxNameLength) === null, { message: 'not an agent address under the root' }),
    agent_class: z.string().max(maxNameLength).nullish(),
    session_id: z.union([z.string().max(maxNameLength), z.number(), z.custom((v) => isWampFloat(v))]).nullish(),
  });
  return z.tuple([z.tuple([z.union([legacy, opCodes]), feed])]);
}
