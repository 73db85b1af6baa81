import type { z } from 'zod';
import { InvalidParamsError } from '../errors.js';
import { pythonRepr, pythonStr } from './python-repr.js';

/** An op's params schema: a zod object, one key per param. */
export type ParamsSchema = z.ZodObject;

/**
 * OCS's `ParamError`: a param failed validation. Thrown by `validateParams` before a session
 * exists (the start reply is `[-1, message, {}]`); thrown inside an op it ends the session with
 * `ERROR: <message>`.
 */
export class ParamError extends InvalidParamsError {}

export interface ValidateParamsOptions {
  /** OCS `@param('_no_check_strays')`: keys outside the schema are dropped, not refused. A loose object schema implies it. */
  shouldCheckStrays?: boolean;
}

/** A schema node as zod v4 exposes it at runtime. */
interface SchemaNode {
  _zod: { def: SchemaDef; values?: Set<unknown> };
  format?: string | null;
  description?: string;
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: { issues: Array<{ code: string; path: PropertyKey[] }> } };
}

interface SchemaDef {
  type: string;
  coerce?: boolean;
  innerType?: SchemaNode;
  in?: SchemaNode;
  options?: SchemaNode[];
  catchall?: SchemaNode;
  checks?: unknown[];
  defaultValue?: unknown;
}

/** Python's type for a zod node; `null` when there is no single one (unions, any, ...). */
type PythonType = 'float' | 'int' | 'bool' | 'str' | 'list' | 'tuple' | 'dict';

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);
const INT_FORMATS = new Set(['safeint', 'int32', 'uint32']);

/**
 * Validates `raw` params against an op's schema the way OCS's `@param` prescreen does (ocs-protocol
 * §2.6) and returns the params the op receives. Per key, in schema order: a missing or null value
 * takes the schema's default (none ⇒ `Param '<k>' is required and must not be None`); otherwise the
 * Python type check (ints pass as floats, booleans as ints and floats), the allowed set of an
 * enum/literal, then the rest of the schema (refinements, ranges ⇒ `failed validity check`).
 * Last, stray keys. `null` and `[]` count as `{}`. Throws `ParamError` with OCS's exact text.
 */
export function validateParams<S extends ParamsSchema>(schema: S, raw: unknown, options: ValidateParamsOptions = {}): z.output<S> {
  const params = asParamsObject(raw);
  const shape = schema.shape as Record<string, SchemaNode>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const value = validateField(key, field, params[key]);
    if (value !== undefined) out[key] = value;
  }
  const node = schema as unknown as SchemaNode;
  const isLoose = node._zod.def.catchall !== undefined && node._zod.def.catchall._zod.def.type !== 'never';
  const strays = Object.keys(params).filter((k) => !Object.hasOwn(shape, k));
  if (strays.length > 0) {
    if (options.shouldCheckStrays !== false && !isLoose) throw new ParamError(`params included unexpected values: ${pythonRepr(strays)}`);
    if (isLoose) for (const k of strays) out[k] = params[k];
  }
  if ((node._zod.def.checks?.length ?? 0) > 0) {
    const whole = node.safeParse(out);
    if (!whole.success) {
      const key = whole.error.issues[0]?.path[0];
      throw new ParamError(key === undefined ? 'params failed validity check (see docs?).' : `Param '${String(key)}' failed validity check (see docs?).`);
    }
    return whole.data as z.output<S>;
  }
  return out as z.output<S>;
}

function validateField(key: string, field: SchemaNode, value: unknown): unknown {
  if (value === undefined || value === null) {
    // OCS treats None as missing: the default applies (a nullable field defaults to null), else it is required.
    const missing = field.safeParse(undefined);
    const isNullable = field.safeParse(null).success;
    if (missing.success) return missing.data === undefined && isNullable ? null : missing.data;
    if (isNullable) return null;
    throw new ParamError(`Param '${key}' is required and must not be None`);
  }
  const base = baseOf(field);
  let candidate: unknown = value;
  if (base._zod.def.coerce) {
    // z.coerce.* plays the part of OCS's `cast=`.
    const cast = field.safeParse(value);
    if (!cast.success && cast.error.issues.some((i) => i.code === 'invalid_type')) {
      throw new ParamError(`Param '${key}'=${pythonStr(value)} could not be cast to ${pythonClass(pythonTypeOf(base) ?? 'str')}.`);
    }
  } else {
    const type = pythonTypeOf(base);
    if (type !== null) candidate = checkType(key, type, value);
  }
  const choices = choicesOf(base);
  if (choices !== null && !choices.some((c) => c === candidate)) {
    throw new ParamError(`Param '${key}'=${pythonStr(candidate)} is not in allowed set (${pythonRepr(choices)})`);
  }
  const parsed = field.safeParse(candidate);
  if (!parsed.success) throw new ParamError(`Param '${key}' failed validity check (see docs?).`);
  return parsed.data;
}

/** Python's isinstance check with OCS's coercions; returns the value the op gets. */
function checkType(key: string, type: PythonType, value: unknown): unknown {
  switch (type) {
    case 'float':
      // type=float accepts ints, and Python's bool is an int.
      if (typeof value === 'number') return value;
      if (typeof value === 'boolean') return value ? 1 : 0;
      break;
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'boolean') return value ? 1 : 0;
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      break;
    case 'str':
      if (typeof value === 'string') return value;
      break;
    case 'list':
    case 'tuple':
      if (Array.isArray(value)) return value;
      break;
    case 'dict':
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
      break;
  }
  throw new ParamError(`Param '${key}'=${pythonStr(value)} is not of required type (${pythonClass(type)})`);
}

function pythonClass(type: PythonType): string {
  return `<class '${type}'>`;
}

/** Strips optional/nullable/default/readonly wrappers and the input side of pipes (transforms). */
function baseOf(node: SchemaNode): SchemaNode {
  let current = node;
  for (let i = 0; i < 32; i++) {
    const def = current._zod.def;
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else break;
  }
  return current;
}

function pythonTypeOf(base: SchemaNode): PythonType | null {
  switch (base._zod.def.type) {
    case 'number':
      return base.format && INT_FORMATS.has(base.format) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'string':
      return 'str';
    case 'array':
      return 'list';
    case 'tuple':
      return 'tuple';
    case 'object':
    case 'record':
      return 'dict';
    default:
      return null;
  }
}

/** The allowed set of an enum, a literal, or a union of literals; else null. */
function choicesOf(base: SchemaNode): unknown[] | null {
  const def = base._zod.def;
  if ((def.type === 'enum' || def.type === 'literal') && base._zod.values) return [...base._zod.values];
  if (def.type === 'union' && def.options && def.options.length > 0) {
    const sets = def.options.map((o) => (o._zod.def.type === 'literal' || o._zod.def.type === 'enum' ? o._zod.values : undefined));
    if (sets.every((s) => s !== undefined)) return sets.flatMap((s) => [...(s as Set<unknown>)]);
  }
  return null;
}

/** Params as OCS's ParamHandler sees them: null and ocs-web's `[]` are `{}`; other non-objects crash as in Python. */
function asParamsObject(raw: unknown): Record<string, unknown> {
  if (raw === null || raw === undefined) return {};
  if (Array.isArray(raw) && raw.length === 0) return {};
  if (typeof raw === 'object' && !Array.isArray(raw)) return raw as Record<string, unknown>;
  throw new TypeError(`'${pythonTypeName(raw)}' object has no attribute 'get'`);
}

function pythonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    default:
      return typeof value;
  }
}

/**
 * A docstring-like signature for an op that gives none: `name(delay=5, succeed=True, mode)`,
 * then one line per param with its Python type, allowed set and description.
 */
export function describeParams(schema: ParamsSchema, opName = ''): string {
  const shape = schema.shape as Record<string, SchemaNode>;
  const signature: string[] = [];
  const lines: string[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const missing = field.safeParse(undefined);
    const isOptional = missing.success;
    signature.push(isOptional ? `${key}=${pythonRepr(missing.data)}` : key);
    const base = baseOf(field);
    const type = pythonTypeOf(base);
    const choices = choicesOf(base);
    const description = field.description ?? base.description;
    const kind = [type ?? 'any', ...(isOptional ? ['optional'] : [])].join(', ');
    let line = `    ${key} (${kind})`;
    if (description) line += `: ${description}`;
    if (choices) line += `${description ? ' ' : ': '}One of ${pythonRepr(choices)}.`;
    lines.push(line);
  }
  const head = `${opName}(${signature.join(', ')})`;
  return lines.length > 0 ? `${head}\n\nParameters:\n${lines.join('\n')}` : head;
}
