import { InvalidParamsError } from '../errors.js';
import { pythonRepr } from './python-repr.js';

/** The actions `.ops` implements; any other string gets OCS's `No implementation for "<op>"` reply. */
export const OPS_ACTIONS = ['start', 'stop', 'abort', 'wait', 'status'] as const;
export type OpsAction = (typeof OPS_ACTIONS)[number];

/** One `.ops` call, bound as Python binds `_ops_handler(action, op_name, params=None, timeout=None, password=None)`. */
export interface ParsedOpsCall {
  /** The requested action; not necessarily one of OPS_ACTIONS. */
  action: string;
  opName: string;
  /** As sent: an object, null (absent), ocs-web's `[]`, or anything else (validated at start). */
  params: unknown;
  /** `wait` only: null waits until done, < 0 returns at once, ≥ 0 waits at most that long. */
  timeoutS: number | null;
  password: string | null;
}

const OPS_HANDLER = '_ops_handler';
const OPS_ARGUMENTS = ['action', 'op_name', 'params', 'timeout', 'password'] as const;
const OPS_REQUIRED = 2;

/**
 * Binds a `.ops` call's WAMP arguments the way Python binds them, accepting every call shape of
 * ocs-protocol §1.6 (`params`, `timeout`, `password` positionally or as kwargs; params as an
 * object, null or `[]`). Throws InvalidParamsError where Python raises TypeError: unknown kwargs,
 * too many arguments, an argument given twice, a missing action or op name; also for a non-string
 * action, op name or password, and for a non-numeric wait timeout.
 */
export function parseOpsCall(args: readonly unknown[] | null | undefined, kwargs: Readonly<Record<string, unknown>> | null | undefined): ParsedOpsCall {
  const bound = bindArguments(OPS_HANDLER, OPS_ARGUMENTS, OPS_REQUIRED, args ?? [], kwargs ?? {}, false);
  const [action, opName, params, timeout, password] = OPS_ARGUMENTS.map((name) => bound.get(name));
  if (typeof action !== 'string') throw new InvalidParamsError(`action must be a string, got ${pythonRepr(action)}`, { details: { action } });
  if (typeof opName !== 'string') throw new InvalidParamsError(`op_name must be a string, got ${pythonRepr(opName)}`, { details: { op_name: opName } });
  if (password !== undefined && password !== null && typeof password !== 'string') {
    throw new InvalidParamsError('password must be a string or null', { details: { password_type: typeof password } });
  }
  return {
    action,
    opName,
    params: params === undefined ? null : params,
    timeoutS: action === 'wait' ? parseTimeout(timeout) : null,
    password: typeof password === 'string' ? password : null,
  };
}

/**
 * Binds a management call `_management_handler(q, **kwargs)`: `q` positionally or as a kwarg;
 * other kwargs are ignored, as in OCS. Returns `q` as sent (unknown queries answer null).
 */
export function parseManagementCall(args: readonly unknown[] | null | undefined, kwargs: Readonly<Record<string, unknown>> | null | undefined): unknown {
  return bindArguments('_management_handler', ['q'], 1, args ?? [], kwargs ?? {}, true).get('q');
}

function parseTimeout(timeout: unknown): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout === 'boolean') return timeout ? 1 : 0;
  if (typeof timeout === 'number' && !Number.isNaN(timeout)) return timeout === Infinity ? null : timeout;
  throw new InvalidParamsError(`timeout must be a number of seconds or null, got ${pythonRepr(timeout)}`, { details: { timeout } });
}

/** Python's argument binding for `def fn(self, <names>)`, with CPython's TypeError texts. */
function bindArguments(
  fn: string,
  names: readonly string[],
  required: number,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
  hasVarKwargs: boolean,
): Map<string, unknown> {
  if (args.length > names.length) {
    const takes = required === names.length ? `${names.length + 1}` : `from ${required + 1} to ${names.length + 1}`;
    throw new InvalidParamsError(`${fn}() takes ${takes} positional arguments but ${args.length + 1} were given`, { details: { args_given: args.length } });
  }
  const bound = new Map<string, unknown>();
  names.forEach((name, i) => {
    if (i < args.length) bound.set(name, args[i]);
  });
  for (const [key, value] of Object.entries(kwargs)) {
    const index = names.indexOf(key);
    if (index < 0) {
      if (hasVarKwargs) continue;
      throw new InvalidParamsError(`${fn}() got an unexpected keyword argument '${key}'`, { details: { kwarg: key } });
    }
    if (index < args.length) throw new InvalidParamsError(`${fn}() got multiple values for argument '${key}'`, { details: { kwarg: key } });
    bound.set(key, value);
  }
  const missing = names.slice(0, required).filter((name) => !bound.has(name));
  if (missing.length > 0) {
    const quoted = missing.map((m) => `'${m}'`);
    const list = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
    const noun = missing.length === 1 ? 'argument' : 'arguments';
    throw new InvalidParamsError(`${fn}() missing ${missing.length} required positional ${noun}: ${list}`, { details: { missing } });
  }
  return bound;
}
