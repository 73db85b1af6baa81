/**
 * What an op is, as an agent declares it (`TaskSpec`, `ProcessSpec`: OCS's register_task /
 * register_process), and what the `.ops` and `get_api` calls answer about it (the OCS wire shapes).
 */
import type { z } from 'zod';
import type { AccessData } from './access.js';
import type { ResponseCode } from './op-codes.js';
import type { EncodedSession, OpSession } from './op-session.js';
import type { ParamsSchema } from './params.js';

/** What an op function returns: OCS's `(ok, message)`. */
export type OpResult = readonly [ok: boolean, message: string];

/** A task's function or a process's start function. */
export type OpFunction<P> = (session: OpSession, params: P) => Promise<OpResult> | OpResult;

/**
 * A process's stopper or a task's aborter. It receives the live session and the raw params of
 * the stop/abort call. The framework does not change the status: the stopper should call
 * `session.setStatus('stopping')` and make the op return. Its result is only logged.
 */
export type StopFunction = (session: OpSession, params: unknown) => Promise<OpResult | void> | OpResult | void;

export interface CommonSpec<P extends ParamsSchema> {
  /** Params schema (zod object); validated at start, before a session exists. Without it the op gets params raw. */
  params?: P;
  /** Start on the agent's first join: true ⇒ with `{}`, an object ⇒ with those params. */
  startup?: boolean | Record<string, unknown>;
  /** Credential level needed to start and stop (0–4; the wire shows max(1, minPrivs)). */
  minPrivs?: number;
  /** Informational, as in OCS (default true). */
  blocking?: boolean;
  /** Shown by `get_api`; defaults to `describeParams(params)` when there is a schema, else null. */
  docstring?: string | null;
  /** OCS `@param('_no_check_strays')` when false: keys outside the schema are dropped instead of refused. */
  shouldCheckStrays?: boolean;
}

export interface TaskSpec<P extends ParamsSchema = ParamsSchema> extends CommonSpec<P> {
  fn: OpFunction<z.output<P>>;
  aborter?: StopFunction;
}

export interface ProcessSpec<P extends ParamsSchema = ParamsSchema> extends CommonSpec<P> {
  start: OpFunction<z.output<P>>;
  stop: StopFunction;
}

export type OpType = 'task' | 'process';

/** The value every `.ops` call answers with: `[code, message, session]`, session `{}` when there is none. */
export type OpsReply = [code: ResponseCode, message: string, session: EncodedSession | Record<string, never>];

/** `[name, session or no_history placeholder, op_info]` as in `get_api`. */
export type OpDescription = [name: string, session: EncodedSession | { op_name: string; status: 'no_history' }, opInfo: OpInfo];

export interface OpInfo {
  blocking: boolean;
  abortable?: boolean;
  docstring: string | null;
  op_type: OpType;
  min_privs: number;
}

/** Identity and feeds of the agent, supplied by the runtime for `get_api`. */
export interface AgentDescription {
  agent_class: string;
  instance_hostname: string;
  instance_pid: number;
  feeds: Array<[feedName: string, feed: Record<string, unknown>]>;
}

export interface AgentApi extends AgentDescription {
  processes: OpDescription[];
  tasks: OpDescription[];
  access_control: AccessData;
}

export interface StartupOp {
  opName: string;
  opType: OpType;
  params: Record<string, unknown>;
}
