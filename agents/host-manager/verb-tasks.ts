import type { z } from 'zod';
import { CHILD_STATES } from '../../lib/supervisor/child-record.js';
import type { ChildResult, Supervisor, VerbResult } from '../../lib/supervisor/supervisor.js';
import type { Ids } from '../../lib/supervisor/verb-params.js';
import type { HostManagerHost } from './host-manager-options.js';
import {
  CancelParamsSchema,
  CreateOpParamsSchema,
  IdsParamsSchema,
  KillParamsSchema,
  LogsOpParamsSchema,
  OpenOpParamsSchema,
  RemoveOpParamsSchema,
  ScheduleOpParamsSchema,
  SignalParamsSchema,
  createParamsOf,
  openParamsOf,
  scheduleOf,
  scheduleProblem,
} from './params.js';

/**
 * The supervisor verbs as HostManager tasks (start, stop, restart, suspend, resume, reset, kill,
 * signal, remove, cancel, schedule, create, open, logs), each refused with OCS's text while
 * `manager` does not run, and the `requests` of OCS's `manager`/`update`.
 */

/** Credential levels under an access policy (`none` gives everyone level 1, so every op is 1 there). */
export const OP_PRIVS = {
  logs: 1,
  manager: 2,
  update: 2,
  start: 2,
  stop: 2,
  restart: 2,
  suspend: 2,
  resume: 2,
  reset: 2,
  cancel: 2,
  schedule: 2,
  kill: 3,
  signal: 3,
  remove: 3,
  open: 3,
  create: 3,
  die: 3,
} as const;

export const MANAGER_NOT_RUNNING = 'Manager process is not running';
export const EXEC_DISABLED = 'create refused: this HostManager was started without --allow-exec, so it does not run arbitrary commands';

/** What the verb tasks need of the HostManager. */
export interface VerbTaskHost {
  runtime: Pick<HostManagerHost, 'registerTask'>;
  allowExec: boolean;
  /** An op's credential level under the site's access policy. */
  privs(level: number, op: string): number;
  /** The running supervisor when `manager` runs, else the OCS refusal text. */
  requireManager(): Supervisor | string;
  refreshManagerData(): void;
}

/** Registers every verb task on the runtime. */
export function registerVerbTasks(host: VerbTaskHost): void {
  const rt = host.runtime;
  const idsVerb = (name: 'start' | 'stop' | 'restart' | 'suspend' | 'resume' | 'reset', doc: string) =>
    verbTask(host, name, IdsParamsSchema, OP_PRIVS[name], `${name}(ids)\n\n**Task** - ${doc}\n\nParameters:\n    ids: an instance id, a list of them, or 'all'.`, (sup, p) => sup[name](p.ids as Ids));
  idsVerb('start', 'Target up and start now (also the way out of CRASHED, KILLED, EXITED).');
  idsVerb('stop', 'Target down; stop signal, then SIGKILL to the group after the stop timeout.');
  idsVerb('restart', 'Stop, then start again (not charged to the failure budget).');
  idsVerb('suspend', 'SIGSTOP the process group (SUSPENDED).');
  idsVerb('resume', 'SIGCONT the process group (RUNNING again).');
  idsVerb('reset', 'Clear the failure budget and the stuck flag; a CRASHED child with target up starts.');
  verbTask(host, 'kill', KillParamsSchema, OP_PRIVS.kill, "kill(ids, signal='SIGKILL')\n\n**Task** - Target down and signal; ends KILLED (down until start).", (sup, p) =>
    sup.kill(p.ids as Ids, p.signal),
  );
  verbTask(host, 'signal', SignalParamsSchema, OP_PRIVS.signal, 'signal(id, signal)\n\n**Task** - Send a raw signal to the child\'s process group.', (sup, p) => sup.signal(p.id, p.signal));
  verbTask(host, 
    'remove',
    RemoveOpParamsSchema,
    OP_PRIVS.remove,
    "remove(ids, running='stop')\n\n**Task** - Forget children; a running one is stopped, killed, or left running untracked (disown).",
    (sup, p) => sup.remove({ ids: p.ids as Ids, running: p.running }),
  );
  verbTask(host, 'cancel', CancelParamsSchema, OP_PRIVS.cancel, 'cancel(id, keep=False)\n\n**Task** - Cancel a PENDING start: remove the child, or keep it STOPPED.', (sup, p) =>
    sup.cancel(p.id, p.keep),
  );
  verbTask(host, 
    'schedule',
    ScheduleOpParamsSchema,
    OP_PRIVS.schedule,
    'schedule(id, start_at=None, delay_s=None, cron=None, tz=None, action=None, missed=None, run_at_create=None, clear=False)\n\n**Task** - Set (or clear) a start schedule: at a unix time, after a delay, or cron.',
    (sup, p) => {
      const problem = scheduleProblem(p);
      if (problem !== null) return refusal(`schedule refused: ${problem}`);
      const request = scheduleOf(p);
      if (p.clear) return request === null ? sup.schedule(p.id, null) : refusal('schedule refused: clear=True takes no start_at, delay_s or cron');
      if (request === null) return refusal('schedule refused: give one of start_at, delay_s, cron (or clear=True)');
      return sup.schedule(p.id, request);
    },
  );
  verbTask(host, 
    'create',
    CreateOpParamsSchema,
    OP_PRIVS.create,
    'create(id, cmd, cwd=None, env=None, agent_class=None, restart=None, restart_times=None, stop_signal=None, stop_timeout_s=None, kill_timeout_s=None, ready=None, ready_timeout_s=None, hung_restart_after_s=None, log_max_bytes=None, log_keep=None, start_at=None, delay_s=None, cron=None, tz=None, action=None, missed=None, run_at_create=None, create_stopped=False)\n\n' +
      '**Task** - Supervise a new command (only with --allow-exec).',
    (sup, p) => {
      if (!host.allowExec) return refusal(EXEC_DISABLED);
      const problem = scheduleProblem(p);
      if (problem !== null) return refusal(`create refused: ${problem}`);
      return sup.create(createParamsOf(p));
    },
  );
  verbTask(host, 
    'open',
    OpenOpParamsSchema,
    OP_PRIVS.open,
    'open(pid, id=None, cmd=None, cwd=None, env=None, expect_cmdline=None, restart=None, stop_signal=None, stop_timeout_s=None)\n\n**Task** - Adopt a running process by pid (a cmd to run it again needs --allow-exec).',
    (sup, p) => {
      if (p.cmd !== undefined && !host.allowExec) return refusal('open refused: a cmd to run the process again needs --allow-exec on this HostManager');
      return sup.open(openParamsOf(p));
    },
  );
  rt.registerTask('logs', {
    fn: (session, params) => {
      const sup = host.requireManager();
      if (typeof sup === 'string') return [false, sup];
      const result = sup.logs({ id: params.id, stream: params.stream, lines: params.lines });
      session.data = { id: result.id, stdout: result.stdout, stderr: result.stderr };
      return [result.ok, result.message];
    },
    params: LogsOpParamsSchema,
    blocking: false,
    minPrivs: host.privs(OP_PRIVS.logs, 'logs'),
    docstring: "logs(id, stream='both', lines=100)\n\n**Task** - The tail of a child's stdout/stderr files, in session.data.",
  });
}

function verbTask<S extends z.ZodObject>(host: VerbTaskHost, name: string, schema: S, level: number, docstring: string, fn: (sup: Supervisor, params: z.infer<S>) => VerbResult & { refusedHere?: boolean }): void {
  host.runtime.registerTask(name, {
    fn: (session, params) => {
      const sup = host.requireManager();
      if (typeof sup === 'string') return [false, sup];
      const result = fn(sup, params);
      if (result.refusedHere === true) sup.recordRequest(name, { ...params }, false, result.message);
      session.data = { results: result.results.map(resultView) };
      host.refreshManagerData();
      return [result.ok, result.message];
    },
    params: schema,
    blocking: false,
    minPrivs: host.privs(level, name),
    docstring,
  });
}


/**
 * HostManager's `requests`: `[instance_id | 'all', 'up' | 'down']`, in order. An invalid pair or
 * an unknown id gives a note and the rest still applies. `up` on an EXITED or CRASHED child
 * starts it (HostManager restarts anything whose target is up).
 */
export function applyUpdateRequests(sup: Supervisor, requests: readonly unknown[][]): { notes: string[]; results: ChildResult[] } {
  const notes: string[] = [];
  const results: ChildResult[] = [];
  for (const request of requests) {
    const [target, state] = request;
    if (request.length !== 2 || typeof target !== 'string' || (state !== 'up' && state !== 'down')) {
      notes.push(`Invalid request ${JSON.stringify(request)}: expected [instance_id or 'all', 'up' or 'down']`);
      continue;
    }
    const ids = target === 'all' ? sup.ids() : [target];
    if (target !== 'all' && sup.stateOf(target) === null) {
      notes.push(`Unknown instance_id '${target}' (not managed by this HostManager)`);
      continue;
    }
    const revive = state === 'up' ? ids.filter((id) => sup.stateOf(id) === CHILD_STATES.EXITED || sup.stateOf(id) === CHILD_STATES.CRASHED) : [];
    const plain = ids.filter((id) => !revive.includes(id));
    if (plain.length > 0) {
      const r = sup.update(target === 'all' && revive.length === 0 ? [['all', state]] : plain.map((id) => [id, state] as [string, 'up' | 'down']));
      results.push(...r.results);
      notes.push(`${target} -> ${state}: ${r.message}`);
    }
    if (revive.length > 0) {
      const r = sup.start(revive);
      results.push(...r.results);
      notes.push(`${revive.join(', ')} -> up: ${r.message}`);
    }
  }
  return { notes, results };
}


/** A refusal by the HostManager itself (the core never saw the request; it is audited as one). */
function refusal(message: string): VerbResult & { refusedHere: true } {
  return { ok: false, message, results: [], refusedHere: true };
}

export function resultView(r: ChildResult): Record<string, unknown> {
  return { instance_id: r.id, ok: r.ok, message: r.message, state: r.state, pid: r.pid };
}

