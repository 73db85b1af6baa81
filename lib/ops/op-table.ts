import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { ConfigError, InvalidParamsError, messageOf } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { AccessControl, rejectionMessage, type AccessData } from './access.js';
import { clockSleep } from './clock-sleep.js';
import { isCredLevel, OpCode, ResponseCode } from './op-codes.js';
import { OpSession, type EncodedSession, type MessagePurgePolicy } from './op-session.js';
import { describeParams, ParamError, validateParams, type ParamsSchema } from './params.js';
import type { ParsedOpsCall } from './parse-ops-call.js';
import { failureText, pythonRepr } from './python-repr.js';
import type { AccessPolicy } from '../site-config/access-policy.js';
import type { AgentApi, AgentDescription, OpDescription, OpFunction, OpInfo, OpsReply, OpType, ProcessSpec, StartupOp, StopFunction, TaskSpec, CommonSpec } from './op-spec.js';

export interface OpCodeChange {
  opName: string;
  /** The session whose change it is; null when a done session was discarded and none replaced it. */
  sessionId: number | null;
  opCode: OpCode;
  previousOpCode: OpCode;
}

/** Emitted on every op-code change of any op (the heartbeat may beat early on it). */
export const OP_CODE_CHANGED = 'op_code.changed';

export interface OpTableEvents {
  [OP_CODE_CHANGED]: [change: OpCodeChange];
}

/** How long `stopAll` waits for ops to finish after asking them to stop (OCS sleeps 3 s). */
export const STOP_ALL_TIMEOUT_MS = 3000;

export interface OpTableOptions {
  agentClass: string;
  /** For access-rule scopes under `director:` (instance_id selectors). */
  instanceId?: string;
  clock?: Clock;
  logger?: Logger;
  /** A parsed policy, a policy string (`none`, `override:pw2,pw3`, `director:<id>`) or a shared AccessControl. */
  accessPolicy?: AccessPolicy | string | AccessControl | null;
  /** Agent identity and feeds for `get_api` / `get_feeds`; defaults to this host and pid, no feeds. */
  describeAgent?: () => AgentDescription;
  stopAllTimeoutMs?: number;
  purgePolicy?: Partial<MessagePurgePolicy>;
}

interface OpEntry {
  name: string;
  opType: OpType;
  run: OpFunction<unknown>;
  stopper: StopFunction | undefined;
  schema: ParamsSchema | undefined;
  shouldCheckStrays: boolean;
  startup: Record<string, unknown> | null;
  minPrivs: number;
  blocking: boolean;
  docstring: string | null;
  session: OpSession | null;
}

const EMPTY: Record<string, never> = Object.freeze({}) as Record<string, never>;

/**
 * An agent's operations: registration, the `.ops` actions with OCS's exact replies
 * (ocs-protocol §2.2), the management queries (§1.5) and the heartbeat's op codes. Pure logic:
 * the runtime feeds it parsed calls and sends back what it returns.
 */
export class OpTable extends EventEmitter<OpTableEvents> {
  readonly access: AccessControl;
  private readonly ops = new Map<string, OpEntry>();
  private nextSessionId = 0;
  private hasRunStartupOps = false;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly agentClass: string;
  private readonly describeAgent: () => AgentDescription;
  private readonly stopAllTimeoutMs: number;
  private readonly purgePolicy: Partial<MessagePurgePolicy> | undefined;

  constructor(options: OpTableOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger();
    this.agentClass = options.agentClass;
    this.access =
      options.accessPolicy instanceof AccessControl
        ? options.accessPolicy
        : new AccessControl({ policy: options.accessPolicy, agentClass: options.agentClass, instanceId: options.instanceId, clock: this.clock });
    this.describeAgent =
      options.describeAgent ?? (() => ({ agent_class: this.agentClass, instance_hostname: hostname(), instance_pid: process.pid, feeds: [] }));
    this.stopAllTimeoutMs = options.stopAllTimeoutMs ?? STOP_ALL_TIMEOUT_MS;
    this.purgePolicy = options.purgePolicy;
  }

  /** Registers a Task: runs to completion; `abort` calls the optional aborter. */
  registerTask<P extends ParamsSchema = ParamsSchema>(name: string, spec: TaskSpec<P>): void {
    if (typeof spec.fn !== 'function') throw new ConfigError(`task "${name}" needs a function (fn)`);
    if (spec.aborter !== undefined && typeof spec.aborter !== 'function') throw new ConfigError(`task "${name}": aborter must be a function`);
    this.add(name, 'task', spec.fn as OpFunction<unknown>, spec.aborter, spec);
  }

  /** Registers a Process: runs until stopped; `stop` calls the stopper. */
  registerProcess<P extends ParamsSchema = ParamsSchema>(name: string, spec: ProcessSpec<P>): void {
    if (typeof spec.start !== 'function') throw new ConfigError(`process "${name}" needs a start function`);
    if (typeof spec.stop !== 'function') throw new ConfigError(`process "${name}" needs a stop function`);
    this.add(name, 'process', spec.start as OpFunction<unknown>, spec.stop, spec);
  }

  /** Registered op names, in registration order. */
  opNames(): string[] {
    return [...this.ops.keys()];
  }

  opType(opName: string): OpType | undefined {
    return this.ops.get(opName)?.opType;
  }

  /** The op's current or last session (kept until the op starts again), or null. */
  session(opName: string): OpSession | null {
    return this.ops.get(opName)?.session ?? null;
  }

  /** Runs one parsed `.ops` call; resolves with the single reply value `[code, message, session]`. */
  async handle(call: ParsedOpsCall): Promise<OpsReply> {
    switch (call.action) {
      case 'start':
        return this.start(call.opName, call.params, call.password);
      case 'stop':
      case 'abort':
        return this.stopOp(call.action, call.opName, call.params, call.password);
      case 'wait':
        return this.wait(call.opName, call.timeoutS);
      case 'status':
        return this.status(call.opName);
      default:
        return [ResponseCode.ERROR, `No implementation for "${call.opName}"`, EMPTY];
    }
  }

  /**
   * OCS `start`: unknown op; a live session (returned with the error); access; params; then a new
   * session (status `starting`) whose op runs on the next timer tick. A done session is discarded
   * first, even when the start is then refused.
   */
  start(opName: string, params: unknown = null, password: string | null = null, isSuperuser = false): OpsReply {
    const op = this.ops.get(opName);
    if (!op) return [ResponseCode.ERROR, `No task or process called "${opName}"`, EMPTY];
    const before = codeOf(op);
    try {
      return this.startOp(op, params, password, isSuperuser);
    } finally {
      this.emitChange(op, before);
    }
  }

  private startOp(op: OpEntry, rawParams: unknown, password: string | null, isSuperuser: boolean): OpsReply {
    if (op.session) {
      if (op.session.status !== 'done') return [ResponseCode.ERROR, `Operation "${op.name}" already in progress.`, op.session.encoded()];
      op.session = null;
    }
    const creds = this.access.credentials(password, isSuperuser);
    if (creds.level < op.minPrivs) {
      this.log.info({ op: op.name, cred_level: creds.level, min_privs: op.minPrivs }, 'rejected underprivileged start');
      return [ResponseCode.ERROR, rejectionMessage(creds.level, op.minPrivs, creds.detail), EMPTY];
    }
    let params = rawParams;
    if (op.schema) {
      try {
        params = validateParams(op.schema, rawParams, { shouldCheckStrays: op.shouldCheckStrays });
      } catch (err) {
        if (err instanceof ParamError) {
          this.log.info({ op: op.name, reason: err.message }, 'rejected start params');
          return [ResponseCode.ERROR, err.message, EMPTY];
        }
        this.log.error({ op: op.name, err }, 'param pre-processing failed');
        return [ResponseCode.ERROR, `CRASH: during param pre-processing: ${messageOf(err)}`, EMPTY];
      }
    }
    const session = new OpSession({
      sessionId: this.nextSessionId++,
      opName: op.name,
      credLevel: creds.level,
      clock: this.clock,
      logger: this.log,
      purgePolicy: this.purgePolicy,
      onOpCodeChange: (s, previous) => {
        if (op.session === s) this.emitChange(op, previous);
      },
    });
    op.session = session;
    this.clock.setTimeout(() => void this.runOp(op, session, params), 0);
    this.log.info({ op: op.name, session_id: session.sessionId, cred_level: creds.level }, 'op started');
    return [ResponseCode.OK, `Started ${op.opType} "${op.name}".`, session.encoded()];
  }

  /** OCS `_stop_helper`: `stop` for processes, `abort` for tasks. */
  stopOp(stopType: 'stop' | 'abort', opName: string, params: unknown = null, password: string | null = null, isSuperuser = false): OpsReply {
    const op = this.ops.get(opName);
    if (!op) return [ResponseCode.ERROR, `No operation called "${opName}".`, EMPTY];
    if ((stopType === 'stop') !== (op.opType === 'process')) {
      // The literal {op_type} is OCS's (an unformatted f-string part).
      return [ResponseCode.ERROR, `Cannot "${stopType}" "${opName}" because it is a "{op_type}".`, EMPTY];
    }
    const creds = this.access.credentials(password, isSuperuser);
    if (creds.level < op.minPrivs) {
      this.log.info({ op: opName, cred_level: creds.level, min_privs: op.minPrivs }, `rejected underprivileged ${stopType}`);
      return [ResponseCode.ERROR, rejectionMessage(creds.level, op.minPrivs), EMPTY];
    }
    const session = op.session;
    if (!session) return [ResponseCode.ERROR, 'No session active.', EMPTY];
    if (session.status === 'stopping' || session.status === 'done') return [ResponseCode.ERROR, `The operation is already ${session.status}`, EMPTY];
    session.requestStop(`${stopType} requested`);
    this.invokeStopper(op, session, stopType, params);
    return [ResponseCode.OK, `Requested ${stopType} on ${op.opType} ${opName}".`, session.encoded()];
  }

  /**
   * OCS `wait`: null timeout (or a done session) waits until done; a negative one answers at once;
   * otherwise waits at most `timeoutS`. Code 1 when the op is still running.
   */
  async wait(opName: string, timeoutS: number | null = null): Promise<OpsReply> {
    const op = this.ops.get(opName);
    if (!op) return [ResponseCode.ERROR, `Unknown operation "${opName}".`, EMPTY];
    const session = op.session;
    if (!session) return [ResponseCode.OK, 'Idle.', EMPTY];
    if (session.status === 'done' || timeoutS === null) {
      await session.whenDone();
    } else if (timeoutS >= 0) {
      const doneSignal = new AbortController();
      const unsubscribe = session.onDone(() => doneSignal.abort());
      await clockSleep(this.clock, timeoutS * 1000, doneSignal.signal);
      unsubscribe();
    }
    if (session.status === 'done') {
      const outcome = session.success === true ? 'SUCCEEDED' : 'FAILED';
      return [ResponseCode.OK, `Operation "${opName}" is currently not running (${outcome}).`, session.encoded()];
    }
    return [ResponseCode.TIMEOUT, `Operation "${opName}" still running; wait timed out.`, session.encoded()];
  }

  /** OCS `status`: the current or last session. */
  status(opName: string): OpsReply {
    const op = this.ops.get(opName);
    if (!op) return [ResponseCode.ERROR, `No task or process called "${opName}"`, EMPTY];
    if (!op.session) return [ResponseCode.OK, 'No session active.', EMPTY];
    return [ResponseCode.OK, 'Session active.', op.session.encoded()];
  }

  /** The management procedure `{address}`: get_api, get_tasks, get_processes, get_feeds, get_agent_class; else null. */
  management(q: unknown): AgentApi | OpDescription[] | AgentDescription['feeds'] | string | null {
    switch (q) {
      case 'get_api': {
        const agent = this.describeAgent();
        return {
          agent_class: agent.agent_class,
          instance_hostname: agent.instance_hostname,
          instance_pid: agent.instance_pid,
          feeds: agent.feeds,
          processes: this.describeOps('process'),
          tasks: this.describeOps('task'),
          access_control: this.access.accessData(),
        };
      }
      case 'get_tasks':
        return this.describeOps('task');
      case 'get_processes':
        return this.describeOps('process');
      case 'get_feeds':
        return this.describeAgent().feeds;
      case 'get_agent_class':
        return this.describeAgent().agent_class;
      default:
        return null;
    }
  }

  /** `{op_name: op_code}` for every registered op in registration order; never run ⇒ 1 (NONE). */
  opCodes(): Record<string, number> {
    const codes: Record<string, number> = {};
    for (const op of this.ops.values()) codes[op.name] = op.session ? op.session.opCode : OpCode.NONE;
    return codes;
  }

  /** Ops registered with `startup`, in registration order, with the params they start with. */
  startupOps(): StartupOp[] {
    const out: StartupOp[] = [];
    for (const op of this.ops.values()) if (op.startup) out.push({ opName: op.name, opType: op.opType, params: op.startup });
    return out;
  }

  /**
   * Starts the startup ops through the normal `start` (params validated) with the agent's
   * superuser key: level 4 under an access policy, 1 under `none`. Only the first call starts
   * anything (OCS starts them on the first join only); later calls resolve with `[]`.
   */
  async runStartupOps(): Promise<Array<{ opName: string; reply: OpsReply }>> {
    if (this.hasRunStartupOps) return [];
    this.hasRunStartupOps = true;
    return this.startupOps().map(({ opName, params }) => {
      this.log.info({ op: opName }, 'startup op launching');
      const reply = this.start(opName, params, null, true);
      if (reply[0] !== ResponseCode.OK) this.log.warn({ op: opName, reply: reply[1] }, 'startup op refused');
      return { opName, reply };
    });
  }

  /**
   * Aborts running tasks and stops running processes (as the agent itself, whatever the access
   * policy), then waits until every session is done or `timeoutMs` passes.
   */
  async stopAll(timeoutMs = this.stopAllTimeoutMs): Promise<void> {
    const live: OpSession[] = [];
    for (const op of this.ops.values()) {
      const session = op.session;
      if (!session || session.status === 'done') continue;
      live.push(session);
      if (session.status !== 'stopping') {
        this.log.info({ op: op.name, session_id: session.sessionId }, 'stopping op');
        this.stopOp(op.opType === 'task' ? 'abort' : 'stop', op.name, null, null, true);
      }
    }
    const pending = live.filter((s) => s.status !== 'done');
    if (pending.length === 0) return;
    const allDone = new AbortController();
    let remaining = pending.length;
    const unsubscribes = pending.map((s) => s.onDone(() => --remaining === 0 && allDone.abort()));
    await clockSleep(this.clock, timeoutMs, allDone.signal);
    for (const unsubscribe of unsubscribes) unsubscribe();
    for (const s of pending) if (s.status !== 'done') this.log.warn({ op: s.opName, session_id: s.sessionId, status: s.status }, 'op did not stop in time');
  }

  private add(name: string, opType: OpType, run: OpFunction<unknown>, stopper: StopFunction | undefined, spec: CommonSpec<ParamsSchema>): void {
    if (typeof name !== 'string' || name.length === 0) throw new ConfigError('an op name must be a non-empty string');
    if (this.ops.has(name)) throw new ConfigError(`an op called "${name}" is already registered`);
    const minPrivs = spec.minPrivs ?? 0;
    if (!isCredLevel(minPrivs)) throw new ConfigError(`op "${name}": minPrivs must be an integer 0-4, got ${String(spec.minPrivs)}`);
    const startup = spec.startup === undefined || spec.startup === false ? null : spec.startup === true ? {} : spec.startup;
    this.ops.set(name, {
      name,
      opType,
      run,
      stopper,
      schema: spec.params,
      shouldCheckStrays: spec.shouldCheckStrays ?? true,
      startup,
      minPrivs: Math.max(1, minPrivs),
      blocking: spec.blocking ?? true,
      docstring: spec.docstring !== undefined ? spec.docstring : spec.params ? describeParams(spec.params, name) : null,
      session: null,
    });
  }

  /** Runs the op: status running, the function, then its message, success and status done. */
  private async runOp(op: OpEntry, session: OpSession, params: unknown): Promise<void> {
    let ok: boolean;
    let message: string;
    try {
      session.setStatus('running');
      [ok, message] = resultOf(op.name, await op.run(session, params));
    } catch (err) {
      ok = false;
      if (err instanceof InvalidParamsError) {
        message = `ERROR: ${err.message}`;
        this.log.warn({ op: op.name, session_id: session.sessionId, reason: err.message }, 'op param error');
      } else {
        message = `CRASH: ${failureText(err)}`;
        this.log.error({ op: op.name, session_id: session.sessionId, err }, 'op crashed');
      }
    }
    session.addMessage(message);
    session.success = ok;
    session.setStatus('done');
    this.log.info({ op: op.name, session_id: session.sessionId, success: ok }, 'op ended');
  }

  private invokeStopper(op: OpEntry, session: OpSession, stopType: string, params: unknown): void {
    if (!op.stopper) {
      this.log.warn({ op: op.name, session_id: session.sessionId }, 'task has no aborter; only its session signal was aborted');
      return;
    }
    const report = (result: unknown): void => this.log.debug({ op: op.name, result }, `${stopType} function returned`);
    const fail = (err: unknown): void => this.log.error({ op: op.name, session_id: session.sessionId, err }, `${stopType} function failed`);
    try {
      Promise.resolve(op.stopper(session, params)).then(report, fail);
    } catch (err) {
      fail(err);
    }
  }

  private describeOps(opType: OpType): OpDescription[] {
    const ops = [...this.ops.values()].filter((op) => op.opType === opType);
    ops.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return ops.map((op) => [op.name, op.session ? op.session.encoded() : { op_name: op.name, status: 'no_history' }, opInfo(op)]);
  }

  private emitChange(op: OpEntry, previousOpCode: OpCode): void {
    const opCode = codeOf(op);
    if (opCode === previousOpCode) return;
    try {
      this.emit(OP_CODE_CHANGED, { opName: op.name, sessionId: op.session?.sessionId ?? null, opCode, previousOpCode });
    } catch (err) {
      this.log.error({ op: op.name, err }, 'op code listener failed');
    }
  }
}

function codeOf(op: OpEntry): OpCode {
  return op.session ? op.session.opCode : OpCode.NONE;
}

function opInfo(op: OpEntry): OpInfo {
  if (op.opType === 'task') {
    return { blocking: op.blocking, abortable: op.stopper !== undefined, docstring: op.docstring, op_type: 'task', min_privs: op.minPrivs };
  }
  return { blocking: op.blocking, docstring: op.docstring, op_type: 'process', min_privs: op.minPrivs };
}

/** An op's return value as `[ok, message]`; anything else is a TypeError (reported as a CRASH). */
function resultOf(opName: string, result: unknown): [boolean, string] {
  if (Array.isArray(result) && result.length === 2 && typeof result[0] === 'boolean') {
    const message = result[1];
    return [result[0], typeof message === 'string' ? message : pythonRepr(message)];
  }
  throw new TypeError(`op "${opName}" returned ${pythonRepr(result)}; expected [ok: boolean, message: string]`);
}
