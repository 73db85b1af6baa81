/**
 * An OCS data feed: topic `{agent_address}.feeds.{feed_name}`, every event published as ONE
 * positional argument, the pair `[message, feed_encoded]` (OCS `ocs_feed.Feed`).
 *
 * Non-recorded feeds (`record: false`, e.g. the heartbeat) publish each message at once, as it is.
 *
 * Recorded feeds (`record: true`) take blocks, either a single sample
 * `{block_name, timestamp, data: {field: value}}` or several
 * `{block_name, timestamps: [t...], data: {field: [v...]}}` (chosen by the presence of
 * `timestamp`, as in OCS). Every block is checked before anything is buffered: field names follow
 * the OCS rules (field-names.ts); values are finite numbers, bigints, strings or booleans (null,
 * NaN, ±Infinity, objects are refused: JSON would turn them into null, which InfluxDB and the
 * aggregator cannot store); multi-sample lists have one value per timestamp. A block name's field
 * set is frozen at its first use (OCS raises `Block structure does not match`), and so is each
 * field's kind (float, int, string or bool), because InfluxDB refuses a field whose type changes
 * and the aggregator drops lists that mix types. Samples are buffered per block; the buffer is
 * published when `now - bufferStart >= bufferTimeS` at a publish (so 0 publishes every time, and
 * a longer buffer waits for a later publish; there is no timer), or by `flushBuffer()`.
 *
 * Floats. JavaScript has one number type while Python, InfluxDB and the aggregator tell `1.0`
 * from `1` (a JSON `1.0` written as `1` reaches a Python subscriber as an int). The rule for
 * recorded data:
 *   - every JS `number` is a float on the wire: it is sent wrapped in `WampFloat`, which the
 *     codecs write as `20.0` in JSON and float64 in msgpack, so `20` and `20.5` are the same type
 *     for every subscriber;
 *   - a field is an integer only when the agent passes a `bigint` (`20n`); it is sent as a plain
 *     integer number and must be a safe integer (|v| ≤ 2^53 - 1);
 *   - timestamps are always floats.
 * So a field's type never flips between samples. Non-recorded feeds are sent as they are.
 */
import { InvalidParamsError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import { WampFloat } from '../wamp/float.js';
import { verifyDataFieldString } from './field-names.js';
import { FeedNameSchema, type AggParams, type FeedEncoded } from './feed-schemas.js';

/** A value a recorded block accepts. `number` travels as a float, `bigint` as an integer. */
export type FeedScalar = number | bigint | string | boolean;

export interface SingleSampleBlock {
  block_name: string;
  /** Unix seconds. */
  timestamp: number;
  data: Record<string, FeedScalar>;
}

export interface MultiSampleBlock {
  block_name: string;
  /** Unix seconds, one per value of every field. */
  timestamps: number[];
  data: Record<string, FeedScalar[]>;
}

export type RecordedBlock = SingleSampleBlock | MultiSampleBlock;

/** A value as it goes on the wire in a recorded block. */
export type WireScalar = WampFloat | number | string | boolean;

export interface EncodedBlock {
  block_name: string;
  data: Record<string, WireScalar[]>;
  timestamps: WampFloat[];
}

export type FieldKind = 'float' | 'int' | 'string' | 'bool';

export interface FeedOptions {
  agentAddress: string;
  feedName: string;
  agentClass: string | null;
  /** The agent's session id, a string of float unix seconds, e.g. `String(Date.now() / 1000)`. */
  agentSessionId: string;
  record?: boolean;
  aggParams?: AggParams | null;
  bufferTimeS?: number;
  clock?: Clock;
  /** Publishes on the router: `session.publish(topic, args)`. */
  publish: (topic: string, args: unknown[]) => void;
}

interface BlockBuffer {
  readonly name: string;
  /** Field names in first-use order, with the kind of their first value (undefined until one arrives). */
  readonly kinds: Map<string, FieldKind | undefined>;
  timestamps: WampFloat[];
  data: Map<string, WireScalar[]>;
}

export class Feed {
  readonly agentAddress: string;
  readonly feedName: string;
  readonly agentClass: string | null;
  readonly agentSessionId: string;
  readonly record: boolean;
  readonly aggParams: AggParams;
  readonly bufferTimeS: number;
  /** The feed topic, `{agent_address}.feeds.{feed_name}`. */
  readonly address: string;

  private readonly clock: Clock;
  private readonly publish: (topic: string, args: unknown[]) => void;
  private readonly blocks = new Map<string, BlockBuffer>();
  private bufferStartMs: number | undefined;

  constructor(options: FeedOptions) {
    const name = FeedNameSchema.safeParse(options.feedName);
    if (!name.success) {
      throw new InvalidParamsError(`invalid feed name ${JSON.stringify(options.feedName)}: ${name.error.issues[0]?.message ?? 'invalid'}`, {
        details: { feed: options.feedName },
      });
    }
    const bufferTimeS = options.bufferTimeS ?? 0;
    if (!Number.isFinite(bufferTimeS) || bufferTimeS < 0) {
      throw new InvalidParamsError(`feed ${options.feedName}: buffer time must be a number >= 0, got ${bufferTimeS}`, {
        details: { feed: options.feedName, bufferTimeS },
      });
    }
    this.agentAddress = options.agentAddress;
    this.feedName = options.feedName;
    this.agentClass = options.agentClass;
    this.agentSessionId = options.agentSessionId;
    this.record = options.record ?? false;
    this.aggParams = { ...(options.aggParams ?? {}) };
    this.bufferTimeS = bufferTimeS;
    this.address = `${options.agentAddress}.feeds.${options.feedName}`;
    this.clock = options.clock ?? systemClock;
    this.publish = options.publish;
  }

  /** The feed description sent with every event (OCS `Feed.encoded()`, same key order). */
  encoded(): FeedEncoded {
    return {
      agent_address: this.agentAddress,
      agg_params: { ...this.aggParams },
      feed_name: this.feedName,
      address: this.address,
      record: this.record,
      session_id: this.agentSessionId,
      agent_class: this.agentClass,
    };
  }

  /**
   * Publishes `message`. Non-recorded: at once, as `[[message, encoded]]`. Recorded: the block is
   * validated (InvalidParamsError naming block, field and value; nothing is buffered when it
   * fails), buffered, and the buffer published when the buffer time has passed.
   */
  publishMessage(message: unknown): void {
    if (!this.record) {
      this.publish(this.address, [[message, this.encoded()]]);
      return;
    }
    this.append(message);
    const nowMs = this.clock.nowMs();
    this.bufferStartMs ??= nowMs;
    if (nowMs - this.bufferStartMs >= this.bufferTimeS * 1000) this.flushBuffer();
  }

  /** Publishes every non-empty block buffer now, then empties them. Does nothing when all are empty. */
  flushBuffer(): void {
    this.bufferStartMs = undefined;
    const message: Record<string, EncodedBlock> = {};
    for (const block of this.blocks.values()) {
      if (block.timestamps.length === 0) continue;
      message[block.name] = { block_name: block.name, data: Object.fromEntries(block.data), timestamps: block.timestamps };
      block.timestamps = [];
      block.data = new Map([...block.kinds.keys()].map((k) => [k, []]));
    }
    if (Object.keys(message).length === 0) return;
    this.publish(this.address, [[message, this.encoded()]]);
  }

  private append(message: unknown): void {
    if (!isPlainObject(message) || typeof message['block_name'] !== 'string' || !isPlainObject(message['data'])) {
      throw this.error(`recorded message must be an object {block_name: string, data: object, timestamp(s)}, got ${describe(message)}`, {});
    }
    const blockName = message['block_name'];
    const data = message['data'];
    const isSingle = 'timestamp' in message;
    if (!isSingle && !('timestamps' in message)) {
      throw this.error(`block ${blockName}: message has neither "timestamp" nor "timestamps" (keys: ${Object.keys(message).join(', ')})`, {
        block: blockName,
      });
    }
    const timestamps = isSingle ? [message['timestamp']] : message['timestamps'];
    if (!Array.isArray(timestamps)) {
      throw this.error(`block ${blockName}: "timestamps" must be a list, got ${describe(timestamps)}`, { block: blockName });
    }
    for (const t of timestamps) {
      if (typeof t !== 'number' || !Number.isFinite(t)) {
        throw this.error(`block ${blockName}: invalid timestamp ${describe(t)} (unix seconds as a finite number)`, { block: blockName });
      }
    }

    const existing = this.blocks.get(blockName);
    const fields = Object.keys(data);
    if (existing && !sameFieldSet(fields, existing.kinds)) {
      throw this.error(
        `Block structure does not match: ${blockName} (fields [${[...existing.kinds.keys()].join(', ')}], got [${fields.join(', ')}])`,
        { block: blockName, fields: [...existing.kinds.keys()], got: fields },
      );
    }

    const columns = new Map<string, { kind: FieldKind | undefined; values: WireScalar[] }>();
    for (const field of fields) {
      try {
        verifyDataFieldString(field);
      } catch (e) {
        throw this.error(`block ${blockName}: ${(e as Error).message}`, { block: blockName, field }, e);
      }
      const raw = data[field];
      if (!isSingle && !Array.isArray(raw)) {
        throw this.error(`block ${blockName} field ${field}: a multi-sample block needs a list of values, got ${describe(raw)}`, {
          block: blockName,
          field,
        });
      }
      const values: unknown[] = isSingle ? [raw] : (raw as unknown[]);
      if (values.length !== timestamps.length) {
        throw this.error(`block ${blockName} field ${field}: ${values.length} values for ${timestamps.length} timestamps`, {
          block: blockName,
          field,
        });
      }
      let kind = existing?.kinds.get(field);
      const wire: WireScalar[] = [];
      for (const value of values) {
        const v = toWire(value);
        if (!v) {
          throw this.error(
            `block ${blockName} field ${field}: invalid value ${describe(value)} (allowed: finite number, safe-integer bigint, string, boolean)`,
            { block: blockName, field, value: describe(value) },
          );
        }
        kind ??= v.kind;
        if (v.kind !== kind) {
          throw this.error(`block ${blockName} field ${field}: value ${describe(value)} is ${v.kind} but the field is ${kind}`, {
            block: blockName,
            field,
            kind,
            got: v.kind,
          });
        }
        wire.push(v.wire);
      }
      columns.set(field, { kind, values: wire });
    }

    let block = existing;
    if (!block) {
      block = { name: blockName, kinds: new Map(), timestamps: [], data: new Map(fields.map((f) => [f, []])) };
      this.blocks.set(blockName, block);
    }
    for (const t of timestamps as number[]) block.timestamps.push(new WampFloat(t));
    for (const [field, column] of columns) {
      block.kinds.set(field, column.kind);
      block.data.get(field)?.push(...column.values);
    }
  }

  private error(message: string, details: Record<string, unknown>, cause?: unknown): InvalidParamsError {
    return new InvalidParamsError(`feed ${this.feedName}: ${message}`, { details: { feed: this.feedName, ...details }, cause });
  }
}

function toWire(value: unknown): { kind: FieldKind; wire: WireScalar } | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? { kind: 'float', wire: new WampFloat(value) } : undefined;
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? { kind: 'int', wire: Number(value) } : undefined;
    case 'string':
      return { kind: 'string', wire: value };
    case 'boolean':
      return { kind: 'bool', wire: value };
    default:
      return undefined;
  }
}

function sameFieldSet(fields: string[], known: Map<string, unknown>): boolean {
  return fields.length === known.size && fields.every((f) => known.has(f));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A short, readable rendering of a value for error messages. */
function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  try {
    const s = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    return s.length > 60 ? `${s.slice(0, 60)}…` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
