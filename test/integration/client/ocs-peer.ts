/**
 * A small peer that answers like an OCS agent (ocs-protocol §1.5, §1.6, §2.2): it registers
 * `{address}.ops` and `{address}` with autobahn-js and replies with OCS's exact texts. Ops:
 * - `delay_task` (task, abortable): sleeps `params.delay` seconds (default 5); abort ends it FAILED;
 * - `acq` (process): runs until stopped;
 * - `explode` (task): every action fails with `wamp.error.runtime_error`, as a Python handler
 *   that raises;
 * - `locked` (task): every action fails with the typed `ocs.error.not_authorized`.
 * Every invocation of `.ops` is recorded for assertions on the wire shapes.
 */
import { autobahn } from '../../../lib/wamp/autobahn.js';
import { WampConnection } from '../../../lib/wamp/connection.js';

type Encoded = Record<string, unknown>;
type Reply = [number, string, Encoded];

interface OpState {
  opType: 'task' | 'process';
  session?: Encoded;
  done?: Promise<void>;
  finish?: (success: boolean, message: string) => void;
}

export interface OcsPeerOptions {
  url: string;
  realm: string;
  address: string;
  /** Include `access_control` in get_api (clients then send their password). Default true. */
  hasAccessControl?: boolean;
}

export interface OcsPeer {
  readonly address: string;
  /** Every `.ops` invocation: positional and keyword arguments as received. */
  readonly calls: { args: unknown[]; kwargs: Record<string, unknown> }[];
  close(): Promise<void>;
}

const now = () => Date.now() / 1000;

export async function startOcsPeer(options: OcsPeerOptions): Promise<OcsPeer> {
  const calls: OcsPeer['calls'] = [];
  const ops = new Map<string, OpState>([
    ['acq', { opType: 'process' }],
    ['delay_task', { opType: 'task' }],
    ['explode', { opType: 'task' }],
    ['locked', { opType: 'task' }],
  ]);
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let nextSessionId = 0;

  const setStatus = (session: Encoded, status: string, opCode: number) => {
    session['status'] = status;
    session['op_code'] = opCode;
    (session['messages'] as unknown[]).push([now(), `Status is now "${status}".`]);
  };

  const start = (name: string, op: OpState, params: Record<string, unknown>): Reply => {
    if (op.session && op.session['status'] !== 'done') return [-1, `Operation "${name}" already in progress.`, op.session];
    const delay = params['delay'] ?? 5;
    if (name === 'delay_task' && (typeof delay !== 'number' || delay < 0)) return [-1, "Param 'delay' failed validity check (see docs?).", {}];
    const session: Encoded = {
      session_id: nextSessionId++,
      op_name: name,
      op_code: 2,
      cred_level: 1,
      status: 'starting',
      degraded: false,
      success: null,
      start_time: now(),
      end_time: null,
      data: {},
      messages: [[now(), 'Status is now "starting".']],
    };
    op.session = session;
    op.done = new Promise((resolve) => {
      op.finish = (success, message) => {
        if (session['status'] === 'done') return;
        (session['messages'] as unknown[]).push([now(), message]);
        session['success'] = success;
        session['end_time'] = now();
        setStatus(session, 'done', success ? 5 : 6);
        resolve();
      };
    });
    setStatus(session, 'running', 3);
    if (name === 'delay_task') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        session['data'] = { requested_delay: delay, delay_so_far: delay };
        op.finish?.(true, `Exited after ${String(delay)} seconds`);
      }, (delay as number) * 1000);
      timers.add(timer);
    }
    return [0, `Started ${op.opType} "${name}".`, { ...session, status: 'starting', op_code: 2 }];
  };

  const wait = async (name: string, op: OpState, timeout: unknown): Promise<Reply> => {
    if (!op.session) return [0, 'Idle.', {}];
    const done = () => [0, `Operation "${name}" is currently not running (${op.session?.['success'] === true ? 'SUCCEEDED' : 'FAILED'}).`, op.session ?? {}] as Reply;
    if (op.session['status'] === 'done') return done();
    if (typeof timeout === 'number' && timeout < 0) return [1, `Operation "${name}" still running; wait timed out.`, op.session];
    if (typeof timeout === 'number') {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const isDone = await Promise.race([
        op.done?.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeout * 1000);
          timers.add(timer);
        }),
      ]);
      if (timer !== undefined) {
        clearTimeout(timer);
        timers.delete(timer);
      }
      return isDone ? done() : [1, `Operation "${name}" still running; wait timed out.`, op.session];
    }
    await op.done;
    return done();
  };

  const stopOrAbort = (action: 'stop' | 'abort', name: string, op: OpState): Reply => {
    if ((action === 'stop') !== (op.opType === 'process')) return [-1, `Cannot "${action}" "${name}" because it is a "{op_type}".`, {}];
    if (!op.session) return [-1, 'No session active.', {}];
    if (op.session['status'] === 'done' || op.session['status'] === 'stopping') return [-1, `The operation is already ${String(op.session['status'])}`, {}];
    const session = op.session;
    setStatus(session, 'stopping', 4);
    setTimeout(() => op.finish?.(action === 'stop', action === 'stop' ? 'Stopped.' : 'Aborted.'), 10);
    return [0, `Requested stop on process ${name}".`, session];
  };

  const handleOps = async (args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<Reply> => {
    calls.push({ args, kwargs });
    const stray = Object.keys(kwargs).filter((k) => !['params', 'timeout', 'password'].includes(k));
    if (stray.length > 0) throw new autobahn.Error('wamp.error.runtime_error', [`TypeError: unexpected keyword argument '${stray[0]}'`]);
    const [action, name] = args as [string, string];
    const params = (args[2] ?? kwargs['params'] ?? {}) as Record<string, unknown>;
    const op = ops.get(name);
    if (name === 'explode') throw new autobahn.Error('wamp.error.runtime_error', ['ZeroDivisionError: division by zero']);
    if (name === 'locked') throw new autobahn.Error('ocs.error.not_authorized', ['the action requires credential level 2'], { code: 'NOT_AUTHORIZED', details: { level: 1 } });
    switch (action) {
      case 'start':
        return op ? start(name, op, params) : [-1, `No task or process called "${name}"`, {}];
      case 'wait':
        return op ? wait(name, op, args[3] ?? kwargs['timeout']) : [-1, `Unknown operation "${name}".`, {}];
      case 'status':
        if (!op) return [-1, `No task or process called "${name}"`, {}];
        return op.session ? [0, 'Session active.', op.session] : [0, 'No session active.', {}];
      case 'stop':
      case 'abort':
        return op ? stopOrAbort(action, name, op) : [-1, `No operation called "${name}".`, {}];
      default:
        return [-1, `No implementation for "${name}"`, {}];
    }
  };

  const entry = (name: string, op: OpState) => {
    const info: Encoded = { blocking: false, docstring: `${name}(...)`, op_type: op.opType, min_privs: 1 };
    if (op.opType === 'task') info['abortable'] = true;
    return [name, op.session ?? { op_name: name, status: 'no_history' }, info];
  };

  const handleManagement = (args: unknown[] = [], kwargs: Record<string, unknown> = {}) => {
    if ((args[0] ?? kwargs['q']) !== 'get_api') return null;
    const sorted = [...ops].sort(([a], [b]) => a.localeCompare(b));
    return {
      agent_class: 'OcsPeer',
      instance_hostname: 'localhost',
      instance_pid: process.pid,
      feeds: [],
      processes: sorted.filter(([, op]) => op.opType === 'process').map(([n, op]) => entry(n, op)),
      tasks: sorted.filter(([, op]) => op.opType === 'task').map(([n, op]) => entry(n, op)),
      ...(options.hasAccessControl === false
        ? {}
        : { access_control: { version: 1, policy: 'none', update_timestamp: now(), update_count: 0, step: 0 } }),
    };
  };

  const connection = new WampConnection({ url: options.url, realm: options.realm });
  const session = await connection.open();
  // a handler that throws is part of the scenario: keep autobahn from printing it
  (session as unknown as { _on_user_error: () => void })._on_user_error = () => {};
  await session.register(`${options.address}.ops`, (args, kwargs) => handleOps(args, kwargs));
  await session.register(options.address, (args, kwargs) => handleManagement(args, kwargs));

  return {
    address: options.address,
    calls,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await connection.close();
    },
  };
}
