/**
 * InfluxDB line protocol for OCS recorded feeds, as OCS's InfluxDB publisher writes it
 * (`ocs/common/influxdb_drivers.py: format_data`):
 *
 *     <measurement>,feed=<feed_name> <field>=<value>,... <ns timestamp>
 *
 * - measurement = the feed's `agent_address` (`observatory.fake-data1`; dots and dashes kept);
 * - one tag, `feed` = the feed name;
 * - one point per timestamp of each block, carrying every field of that block;
 * - time = `int(t * 1e9)` nanoseconds, computed exactly as Python does (the float product,
 *   truncated toward zero, printed in full);
 * - values: floats as floats (`0.25`, `20.0`), integers as `3i`, strings quoted, booleans
 *   `True`/`False`.
 *
 * Floats and integers. Feed payloads arrive through WAMP, where the codecs decode a float as a
 * `WampFloat` (even an integral one such as `20.0`) and an integer as a plain number. So a
 * `WampFloat` and a non-integral number are written as floats, an integral plain number (and a
 * `bigint`) as an integer `Ni`. A field therefore keeps one InfluxDB type as long as its
 * publisher keeps one wire type.
 *
 * Escaping. OCS writes names and strings as they are, which is only valid line protocol for names
 * without spaces, commas or `=` and strings without quotes or backslashes. Lines OCS writes
 * correctly come out byte for byte the same here; anything else is escaped as InfluxDB expects:
 * - measurement: `,` and space are preceded by a backslash;
 * - tag values and field keys: `,`, `=` and space are preceded by a backslash;
 * - string values: `"` and `\` are preceded by a backslash (newlines are kept; InfluxDB stores them).
 * InfluxDB cannot represent some names at all, so these are refused (reported as issues, never
 * written): empty names, names with a newline or carriage return, a measurement starting with `#`
 * (a comment line), a backslash at the end of a name or before a character that needs escaping
 * (InfluxDB keeps other backslashes literally), and the field key `time`, which InfluxDB rejects.
 * Values that cannot be stored are refused too: NaN, ±Infinity, integers outside int64, null,
 * objects and arrays.
 *
 * A refused field is left out of its point; a point left without fields, or whose timestamp is
 * not a finite number, is left out; a block whose shape is wrong is left out. Each is reported as
 * a `FormatIssue` so the caller can count and log them.
 */
import { isWampFloat } from '../wamp/float.js';

/** The parts of `Feed.encoded()` that name the series. */
export interface FeedIdentity {
  agent_address: string;
  feed_name: string;
}

export interface FormatIssue {
  reason: string;
  block?: string;
  field?: string;
  /** Index of the sample in the block's timestamps. */
  index?: number;
}

export interface FormattedFeedMessage {
  /** One line per point, without a trailing newline. */
  lines: string[];
  issues: FormatIssue[];
}

const INT64_LIMIT = 9223372036854775808; // 2^63 as a double
const MEASUREMENT_SPECIAL = /[, ]/;
const KEY_SPECIAL = /[,= ]/;
const MEASUREMENT_ESCAPE = /[, ]/g;
const KEY_ESCAPE = /[,= ]/g;
const STRING_ESCAPE = /["\\]/g;
/** A backslash that InfluxDB would read as an escape of what follows it, or that ends the name. */
const BAD_BACKSLASH = /\\(?:[,= ]|$)/;
const LINE_BREAK = /[\r\n]/;

/** Escapes a measurement name; returns an Error naming the problem when it cannot be written. */
export function escapeMeasurement(name: string): string | Error {
  const problem = nameProblem(name, 'measurement');
  if (problem) return problem;
  if (name.startsWith('#')) return new Error(`measurement ${JSON.stringify(name)} starts with "#" (a comment line)`);
  return MEASUREMENT_SPECIAL.test(name) ? name.replace(MEASUREMENT_ESCAPE, '\\$&') : name;
}

/** Escapes a tag key, tag value or field key; returns an Error when it cannot be written. */
export function escapeKey(name: string, what = 'key'): string | Error {
  const problem = nameProblem(name, what);
  if (problem) return problem;
  return KEY_SPECIAL.test(name) ? name.replace(KEY_ESCAPE, '\\$&') : name;
}

/** Escapes and validates a field key: like `escapeKey`, and `time` is refused. */
export function escapeFieldKey(name: string): string | Error {
  if (name === 'time') return new Error('field key "time" is reserved by InfluxDB');
  return escapeKey(name, 'field key');
}

function nameProblem(name: string, what: string): Error | undefined {
  if (name.length === 0) return new Error(`empty ${what}`);
  if (LINE_BREAK.test(name)) return new Error(`${what} ${JSON.stringify(name)} contains a line break`);
  if (BAD_BACKSLASH.test(name)) return new Error(`${what} ${JSON.stringify(name)} has a backslash InfluxDB would read as an escape`);
  return undefined;
}

/**
 * Formats one field value (`1.5`, `20.0`, `3i`, `"text"`, `True`); returns an Error when the
 * value cannot be stored.
 */
export function formatFieldValue(value: unknown): string | Error {
  switch (typeof value) {
    case 'number':
      if (Number.isInteger(value)) {
        if (Math.abs(value) >= INT64_LIMIT) return new Error(`integer ${value} is outside the int64 range`);
        return Number.isSafeInteger(value) ? `${value}i` : `${BigInt(value)}i`;
      }
      return Number.isFinite(value) ? String(value) : new Error(`${value} cannot be stored`);
    case 'bigint':
      if (value >= 9223372036854775808n || value < -9223372036854775808n) return new Error(`integer ${value} is outside the int64 range`);
      return `${value}i`;
    case 'string':
      return `"${value.includes('"') || value.includes('\\') ? value.replace(STRING_ESCAPE, '\\$&') : value}"`;
    case 'boolean':
      return value ? 'True' : 'False';
    case 'object':
      if (isWampFloat(value)) return formatFloat(value.value);
      return new Error(`${value === null ? 'null' : Array.isArray(value) ? 'a list' : 'an object'} cannot be stored`);
    default:
      return new Error(`a value of type ${typeof value} cannot be stored`);
  }
}

/** A float as line protocol: JS shortest round-trip digits, `.0` added to integral values (Python's repr style). */
export function formatFloat(value: number): string | Error {
  if (!Number.isFinite(value)) return new Error(`${value} cannot be stored`);
  const text = String(value);
  return Number.isInteger(value) && !text.includes('e') ? `${text}.0` : text;
}

/**
 * Unix seconds to the nanosecond timestamp OCS writes, `int(t * 1e9)`: the float product
 * truncated toward zero, printed exactly. Undefined when `t` is not a finite number.
 */
export function timestampNs(t: unknown): string | undefined {
  const seconds = isWampFloat(t) ? t.value : t;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return undefined;
  const ns = Math.trunc(seconds * 1e9);
  return Number.isSafeInteger(ns) ? String(ns) : BigInt(ns).toString();
}

/**
 * The line-protocol prefix of every point of a feed, `<measurement>,feed=<feed_name> `, or an
 * Error when the names cannot be written.
 */
export function seriesPrefix(feed: FeedIdentity): string | Error {
  const measurement = escapeMeasurement(feed.agent_address);
  if (measurement instanceof Error) return measurement;
  const tag = escapeKey(feed.feed_name, 'feed name');
  if (tag instanceof Error) return tag;
  return `${measurement},feed=${tag} `;
}

/**
 * Formats a recorded feed message (`{block_name: {block_name, data: {field: [v...]}, timestamps:
 * [t...]}}`, the first element of a feed event) into line-protocol points. The message is
 * checked as it is read, so a payload from any peer is safe to pass.
 */
export function formatFeedMessage(message: unknown, feed: FeedIdentity): FormattedFeedMessage {
  const lines: string[] = [];
  const issues: FormatIssue[] = [];
  const prefix = seriesPrefix(feed);
  if (prefix instanceof Error) {
    issues.push({ reason: prefix.message });
    return { lines, issues };
  }
  if (!isPlainObject(message)) {
    issues.push({ reason: `message must be an object of blocks, got ${kindOf(message)}` });
    return { lines, issues };
  }
  for (const [key, block] of Object.entries(message)) {
    formatBlock(key, block, prefix, lines, issues);
  }
  return { lines, issues };
}

function formatBlock(key: string, block: unknown, prefix: string, lines: string[], issues: FormatIssue[]): void {
  if (!isPlainObject(block) || !isPlainObject(block['data']) || !Array.isArray(block['timestamps'])) {
    issues.push({ block: key, reason: 'block must be {block_name, data: {field: [values]}, timestamps: [t]}' });
    return;
  }
  const timestamps = block['timestamps'] as unknown[];
  const data = block['data'];
  const columns: Array<{ name: string; key: string; values: unknown[] }> = [];
  for (const [field, values] of Object.entries(data)) {
    if (!Array.isArray(values) || values.length !== timestamps.length) {
      issues.push({
        block: key,
        field,
        reason: Array.isArray(values) ? `${values.length} values for ${timestamps.length} timestamps` : `values must be a list, got ${kindOf(values)}`,
      });
      return;
    }
    const escaped = escapeFieldKey(field);
    if (escaped instanceof Error) {
      issues.push({ block: key, field, reason: escaped.message });
      continue;
    }
    columns.push({ name: field, key: `${escaped}=`, values });
  }
  if (columns.length === 0) {
    if (timestamps.length > 0) issues.push({ block: key, reason: 'no field can be written' });
    return;
  }
  for (let i = 0; i < timestamps.length; i++) {
    const ns = timestampNs(timestamps[i]);
    if (ns === undefined) {
      issues.push({ block: key, index: i, reason: `invalid timestamp ${kindOf(timestamps[i])}` });
      continue;
    }
    let fields = '';
    for (const column of columns) {
      const value = formatFieldValue(column.values[i]);
      if (value instanceof Error) {
        issues.push({ block: key, field: column.name, index: i, reason: value.message });
        continue;
      }
      fields = fields === '' ? column.key + value : `${fields},${column.key}${value}`;
    }
    if (fields !== '') lines.push(`${prefix}${fields} ${ns}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !isWampFloat(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v;
}
