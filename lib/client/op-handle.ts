/**
 * Typed handles on one agent operation, the counterpart of OCS's `MatchedTask` and
 * `MatchedProcess`. Every action is a call on `{agent_address}.ops` with OCS's shapes:
 * `start` → `["start", op, params]`, `wait` → `["wait", op, {}]` with kwargs `{timeout}`,
 * `status`/`stop`/`abort` → `[action, op, {}]`; each answers `{status, message, session}`.
 */
import { ResponseCode } from '../ops/op-codes.js';
import type { ApiOpInfo, OpType } from './agent-api.js';
import type { OpReply } from './op-reply.js';

export type OpParams = Record<string, unknown>;

export interface CallOptions {
  /** Client-side deadline for this call (overrides the client's `callTimeoutMs`). */
  callTimeoutMs?: number;
}

export interface WaitOptions extends CallOptions {
  /** Seconds the agent waits for the op to end; null or absent waits until it ends, < 0 returns at once. */
  timeoutS?: number | null;
}

export type OpAction = 'start' | 'wait' | 'status' | 'stop' | 'abort';

/** Sends one action to the agent's `.ops` procedure. */
export type OpRequest = (action: OpAction, opName: string, params: OpParams, kwargs: Record<string, unknown>, options: CallOptions & { waitS?: number | null }) => Promise<OpReply>;

interface OpHandleBase<P extends OpParams> {
  /** The op name on the wire (may contain `-` or spaces). */
  readonly name: string;
  readonly info: ApiOpInfo;
  start(params?: P, options?: CallOptions): Promise<OpReply>;
  wait(options?: WaitOptions): Promise<OpReply>;
  status(options?: CallOptions): Promise<OpReply>;
}

export interface TaskHandle<P extends OpParams = OpParams> extends OpHandleBase<P> {
  readonly opType: 'task';
  abort(options?: CallOptions): Promise<OpReply>;
  /** `start(params)`, then, if the start was accepted, `wait(options)`. */
  call(params?: P, options?: WaitOptions): Promise<OpReply>;
}

export interface ProcessHandle<P extends OpParams = OpParams> extends OpHandleBase<P> {
  readonly opType: 'process';
  stop(options?: CallOptions): Promise<OpReply>;
}

export type OpHandle = TaskHandle | ProcessHandle;

export function createOpHandle(opType: 'task', name: string, info: ApiOpInfo, request: OpRequest): TaskHandle;
export function createOpHandle(opType: 'process', name: string, info: ApiOpInfo, request: OpRequest): ProcessHandle;
export function createOpHandle(opType: OpType, name: string, info: ApiOpInfo, request: OpRequest): OpHandle;
export function createOpHandle(opType: OpType, name: string, info: ApiOpInfo, request: OpRequest): OpHandle {
  const start = (params: OpParams = {}, options: CallOptions = {}) => request('start', name, params, {}, options);
  const wait = (options: WaitOptions = {}) => request('wait', name, {}, { timeout: options.timeoutS ?? null }, { ...options, waitS: options.timeoutS ?? null });
  const status = (options: CallOptions = {}) => request('status', name, {}, {}, options);
  const base = { name, info, start, wait, status };
  if (opType === 'task') {
    const abort = (options: CallOptions = {}) => request('abort', name, {}, {}, options);
    const call = async (params: OpParams = {}, options: WaitOptions = {}) => {
      const started = await start(params, options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs });
      return started.status === ResponseCode.OK ? wait(options) : started;
    };
    return Object.freeze({ opType, ...base, abort, call });
  }
  return Object.freeze({ opType, ...base, stop: (options: CallOptions = {}) => request('stop', name, {}, {}, options) });
}
