import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { z } from 'zod';
import type { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import { systemClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import { ConfigError } from '../../lib/errors.js';
import type { Feed } from '../../lib/feeds/feed.js';
import type { OpResult } from '../../lib/ops/op-table.js';
import type { OpSession } from '../../lib/ops/op-session.js';
import type { AccessPolicy } from '../../lib/site-config/access-policy.js';
import { AGENT_TICKET_VAR, agentTicket } from '../../lib/site-config/identities.js';
import { loadSiteConfig } from '../../lib/site-config/load.js';
import { siteInstanceIds } from '../../lib/site-config/site-lookup.js';
import type { SiteConfig } from '../../lib/site-config/schema.js';
import { CHILD_STATES, type ChildState } from '../../lib/supervisor/child-record.js';
import type { HistoryRecord } from '../../lib/supervisor/history-log.js';
import type { ProcessControl } from '../../lib/supervisor/process-control.js';
import type { SupervisedEntry } from '../../lib/supervisor/supervised-entry.js';
import { Supervisor, type ChildResult, type InitReport, type SupervisorOptions, type SyncReport, type VerbResult } from '../../lib/supervisor/supervisor.js';
import type { Ids } from '../../lib/supervisor/verb-params.js';
import type { HostManagerArgs } from './config.js';
import { buildEntries, type EntryContext, type SkippedEntry } from './entries.js';
import type { ChildStateEntry } from '../../lib/supervisor/child-view.js';
import { markFloats } from '../../lib/ops/session-data.js';
import type { HostManagerMetrics } from './hm-metrics.js';
import { ChildLiveness } from './liveness.js';
import { OrchestratorBinding } from './orchestrator-binding.js';
import { clusterEntries } from './orchestrator-entries.js';
import {
  CancelParamsSchema,
  CreateOpParamsSchema,
  DieOpParamsSchema,
  IdsParamsSchema,
  KillParamsSchema,
  LogsOpParamsSchema,
  ManagerParamsSchema,
  OpenOpParamsSchema,
  RemoveOpParamsSchema,
  ScheduleOpParamsSchema,
  SignalParamsSchema,
  UpdateOpParamsSchema,
  createParamsOf,
  openParamsOf,
  scheduleOf,
  scheduleProblem,
} from './params.js';

/** The parts of AgentRuntime the HostManager uses. */
export type HostManagerHost = Pick<AgentRuntime, 'address' | 'logger' | 'ops' | 'registerTask' | 'registerProcess' | 'registerFeed' | 'subscribe' | 'call' | 'shutdown'> & {
  on(event: 'joined', listener: (isFirstJoin: boolean) => void): unknown;
};

export interface HostManagerOptions {
  args: HostManagerArgs;
  /** The HostManager's own instance id (e.g. hm-localhost). */
  instanceId: string;
  addressRoot: string;
  /** Absolute site file path; children are launched with it and reloads read it. */
  siteFile: string;
  /** The site as loaded at startup. */
  site: SiteConfig;
  /** The `hosts:` key this HostManager manages. */
  hostKey: string;
  workingDir: string;
  /** Directory of the children's stdout/stderr files (`--log-dir`); null: `<state-dir>/logs-NN`. */
  logDir: string | null;
  accessPolicy: AccessPolicy;
  /** argv before `agent …` for each child, e.g. [node, dist/bin/ocs.js]. */
  launcher: readonly string[];
  /** The environment children start from (lib/site-config `childEnv`). */
  baseEnv: Readonly<Record<string, string>>;
  /** The site's identity key (agent identities): each child is given its own ticket, never the key. */
  identityKey?: string;
  /** Prometheus figures, fed by every supervisor this HostManager opens (hm-metrics.ts). */
  metrics?: HostManagerMetrics;
  /** Agent classes `ocs agent` can run; null: no check. */
  knownClasses: ReadonlySet<string> | null;
  loadSite?: (path: string) => SiteConfig;
  clock?: Clock;
  processControl?: ProcessControl;
  /** Overrides for tests and benchmarks (persist debounce, history, pid). */
  supervisorOptions?: Partial<SupervisorOptions>;
}

/** `config_parse_status` entry: [ok, unix seconds, message], as OCS's HostManager. */
type ParseStatus = [ok: boolean, atS: number, message: string];

/** Grafana's supervisor dashboard codes (site-config/grafana/README.md). */
export const STATE_CODES: Readonly<Record<ChildState, number>> = {
  UNKNOWN: 0,
  STOPPED: 1,
  PENDING: 2,
  STARTING: 3,
  RUNNING: 4,
  SUSPENDED: 5,
  STOPPING: 6,
  EXITED: 7,
  BACKOFF: 8,
  CRASHED: 9,
  KILLED: 10,
};

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

const MANAGER_REFRESH_MS = 1000;
const CHANGE_DEBOUNCE_MS = 100;
const HISTORY_IN_DATA = 50;

/** A child's own ticket under agent identities (OCS_AGENT_TICKET). */
function ticketEnv(key: string): (id: string) => Record<string, string> {
  return (id) => ({ [AGENT_TICKET_VAR]: agentTicket(key, id) });
}

/** A site instance this HostManager does not run, as a `child_states` entry (OCS: operable false, down). */
function skippedChildState(s: SkippedEntry): ChildStateEntry & { reason: string } {
  return { instance_id: s.id, agent_class: s.agentClass, next_action: 'down', target_state: s.target, stability: 1, operable: false, restart_required: false, state: CHILD_STATES.UNKNOWN, reason: s.reason };
}

/** `fake-data1` → `fake_data1`: the child's field prefix in the child_states feed. */
export function fieldPrefix(id: string): string {
  const name = id.replace(/[^A-Za-z0-9_]/g, '_');
  return /^_*[A-Za-z]/.test(name) ? name : `c_${name}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What the HostManager tells an orchestrator about its supervisor. */
export interface HostManagerEvents {
  /** A supervisor was opened (startup, or `manager` started again): subscribe to its events here. */
  opened: [supervisor: Supervisor];
  /** The supervisor was closed (manager stopped, shutdown). */
  closed: [];
}

/**
 * OCS's HostManager on the supervisor core (lib/supervisor): process `manager`, task `update`
 * with HostManager's semantics and `child_states` in session data, plus the supervisor verbs as
 * tasks, readiness and liveness from the Registry (liveness.ts), a recorded `child_states` feed,
 * config reloads that keep the running config on errors, and an orderly shutdown.
 *
 * The supervisor is opened (lock, state file, re-adoption, starts) by `open()` before the agent
 * joins the router, so supervision never waits for the router. Stopping `manager` stops the
 * children (or leaves them running with `--on-exit disown`) and releases the lock; starting it
 * again opens a new supervisor on the same state. `supervisor`, `liveness` and
 * `setServiceEntries` are the hooks for an orchestrator.
 */
export class HostManager {
  /** Lifecycle of the supervisor behind the agent (for an orchestrator wired in later). */
  readonly events = new EventEmitter<HostManagerEvents>();
  readonly liveness: ChildLiveness;
  readonly feed: Feed;
  /** The cluster orchestrator (process `orchestrator`), when the site file has `services:`. */
  readonly orchestrator: OrchestratorBinding | null = null;
  private readonly clock: Clock;
  private readonly args: HostManagerArgs;
  private readonly stateDir: string;
  private readonly entryContext: EntryContext;
  private readonly loadSite: (path: string) => SiteConfig;
  private site: SiteConfig;
  private skipped: SkippedEntry[] = [];
  private serviceEntries: SupervisedEntry[] = [];
  private configStatus: ParseStatus;
  private sup: Supervisor | null = null;
  private hasOpened = false;
  private closing: Promise<VerbResult> | null = null;
  private shuttingDown: Promise<void> | null = null;
  private exitMode: 'stop' | 'disown';
  private exitTimeoutMs = 30_000;
  private managerSession: OpSession | null = null;
  private changeTimer: TimerHandle | undefined;
  private feedTimer: TimerHandle | undefined;
  private lastFeedAtMs = 0;

  constructor(
    private readonly runtime: HostManagerHost,
    private readonly options: HostManagerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.args = options.args;
    this.exitMode = options.args.on_exit;
    this.stateDir = resolve(options.workingDir, options.args.state_dir);
    this.site = options.site;
    this.loadSite = options.loadSite ?? loadSiteConfig;
    this.configStatus = [true, this.clock.nowMs() / 1000, ''];
    this.entryContext = {
      siteFile: options.siteFile,
      hostKey: options.hostKey,
      selfInstanceId: options.instanceId,
      workingDir: options.workingDir,
      launcher: options.launcher,
      knownClasses: options.knownClasses,
    };
    this.liveness = new ChildLiveness({
      addressRoot: options.addressRoot,
      registryId: options.args.registry_id,
      agentTimeoutMs: options.args.agent_timeout * 1000,
      subscribe: (topic, handler) => runtime.subscribe(topic, (args) => handler(args)),
      call: (procedure, args, kwargs) => runtime.call(procedure, args, kwargs),
      sink: () => {
        const sup = this.supervisor;
        if (sup === null) return null;
        return {
          onHeartbeat: (id) => sup.onHeartbeat(id),
          onExpired: (id) => sup.onExpired(id),
          stateOf: (id) => sup.stateOf(id),
        };
      },
      clock: this.clock,
      logger: runtime.logger.child({ component: 'liveness' }),
    });
    this.feed = runtime.registerFeed('child_states', { record: true, aggParams: { frame_length: 60 }, bufferTimeS: 1e9 });
    runtime.on('joined', () => this.liveness.onJoined());
    this.registerOps();
    if (Object.keys(options.site.services).length > 0) {
      this.serviceEntries = clusterEntries(options.site, this.entryContext);
      this.orchestrator = new OrchestratorBinding({
        runtime,
        supervisor: () => this.supervisor,
        site: options.site,
        host: options.hostKey,
        hmInstanceId: options.instanceId,
        addressRoot: options.addressRoot,
        registryId: options.args.registry_id,
        stateFile: resolve(this.stateDir, `orchestrator-${String(options.args.instance_index).padStart(2, '0')}.json`),
        accessPolicy: options.accessPolicy,
        opPrivs: options.args.op_privs,
        clock: this.clock,
        options: {
          ...(options.args.failover_grace !== undefined ? { failoverGraceMs: options.args.failover_grace * 1000 } : {}),
          ...(options.args.ready_period !== undefined ? { readyPeriodMs: options.args.ready_period * 1000 } : {}),
        },
      });
    }
    const ops = Object.keys(runtime.ops.opCodes());
    const unknown = Object.keys(options.args.op_privs).filter((op) => !ops.includes(op));
    if (unknown.length > 0) throw new ConfigError(`HostManager: invalid arguments: --op-privs: no op ${unknown.map((u) => `'${u}'`).join(', ')}; ops: ${ops.join(', ')}`);
  }

  /** The running supervisor, or null (before `open`, after `manager` stopped). */
  get supervisor(): Supervisor | null {
    const sup = this.sup;
    return sup !== null && sup.lifecycle === 'running' ? sup : null;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown !== null;
  }

  /** The config's children, as they will be synced at the next open or reload. */
  get configEntries(): SupervisedEntry[] {
    return buildEntries(this.site, this.entryContext).entries;
  }

  /**
   * Takes the instance lock, loads the state, re-adopts live children and starts what should
   * run. Throws ConfigError when another live HostManager holds the same state dir and index.
   */
  async open(): Promise<InitReport> {
    if (this.supervisor !== null) throw new Error('supervisor already open');
    const plan = buildEntries(this.site, this.entryContext);
    this.skipped = plan.skipped;
    const sup = new Supervisor({
      stateDir: this.stateDir,
      instanceIndex: this.args.instance_index,
      supervisorId: this.options.instanceId,
      ...(this.options.logDir !== null ? { logDir: this.options.logDir } : {}),
      allowExec: this.args.allow_exec,
      siteInstanceIds: () => siteInstanceIds(this.site),
      ...(this.options.identityKey !== undefined ? { envFor: ticketEnv(this.options.identityKey) } : {}),
      initialState: this.hasOpened ? 'keep' : this.args.initial_state,
      pollIntervalMs: this.args.poll_interval * 1000,
      baseEnv: this.options.baseEnv,
      clock: this.clock,
      logger: this.runtime.logger.child({ component: 'supervisor' }),
      ...(this.options.processControl !== undefined ? { processControl: this.options.processControl } : {}),
      ...this.options.supervisorOptions,
    });
    this.wire(sup);
    this.sup = sup;
    const initStartedAt = performance.now();
    const report = await sup.init([...plan.entries, ...this.serviceEntries]);
    const reconcileMs = Math.round((performance.now() - initStartedAt) * 10) / 10;
    this.hasOpened = true;
    this.events.emit('opened', sup);
    this.watchHeartbeatChildren();
    await this.liveness.start();
    this.feedTimer = this.clock.setInterval(() => this.publishChildStates(), this.args.feed_interval * 1000);
    this.publishChildStates();
    this.runtime.logger.info(
      {
        adopted: report.adopted.length,
        vanished: report.vanished.length,
        started: report.started.length,
        orphans: report.orphans.length,
        reconcile_ms: reconcileMs,
        state_dir: this.stateDir,
      },
      'supervisor reconciled',
    );
    return report;
  }

  /**
   * Ends supervision once (concurrent callers share the outcome): `stop` stops every child,
   * `disown` leaves them running for the next HostManager; the desired state on disk is kept.
   */
  closeSupervisor(mode: 'stop' | 'disown' = this.exitMode, timeoutMs = this.exitTimeoutMs): Promise<VerbResult> {
    if (this.closing !== null) return this.closing;
    const sup = this.sup;
    if (sup === null || sup.lifecycle === 'closed' || sup.lifecycle === 'new') {
      return Promise.resolve({ ok: true, message: 'not running', results: [] });
    }
    this.runtime.logger.info({ mode }, 'stopping the supervisor');
    this.orchestrator?.beforeSupervisorClose(mode);
    this.closing = sup.die({ mode, timeoutMs }).finally(() => {
      this.clock.clearInterval(this.feedTimer);
      this.feedTimer = undefined;
      this.clock.clearTimeout(this.changeTimer);
      this.changeTimer = undefined;
      this.closing = null;
      this.refreshManagerData();
      this.events.emit('closed');
    });
    return this.closing;
  }

  /**
   * Orderly shutdown of the whole agent (SIGINT/SIGTERM, `die`): stop `manager`, which stops the
   * children while the agent is still on the router (their messages stay visible), then leave.
   */
  shutdown(reason: string, mode: 'stop' | 'disown' = this.args.on_exit, timeoutMs = 30_000): Promise<void> {
    if (this.shuttingDown !== null) return this.shuttingDown;
    this.exitMode = mode;
    this.exitTimeoutMs = timeoutMs;
    this.shuttingDown = (async () => {
      this.runtime.logger.info({ reason, mode }, 'HostManager shutting down');
      const manager = this.runtime.ops.session('manager');
      if (manager !== null && manager.status !== 'done') this.runtime.ops.stopOp('stop', 'manager', null, null, true);
      await this.closeSupervisor(mode, timeoutMs);
      if (manager !== null) await manager.whenDone();
      this.liveness.stop();
      await this.runtime.shutdown(reason);
    })();
    return this.shuttingDown;
  }

  /** A second SIGINT during a shutdown: SIGKILL every child group now. */
  forceKill(): string[] {
    return this.sup?.killAll() ?? [];
  }

  /**
   * Re-reads the site file (update reload_config, manager start, SIGHUP). A file that does not
   * load keeps the running config; the error is in `config_parse_status`.
   */
  reloadConfig(): { ok: boolean; message: string; report: SyncReport | null } {
    const nowS = this.clock.nowMs() / 1000;
    let site: SiteConfig;
    let plan;
    try {
      site = this.loadSite(this.options.siteFile);
      plan = buildEntries(site, this.entryContext);
    } catch (err) {
      const message = `config reload failed; keeping the running config: ${errorText(err)}`;
      this.configStatus = [false, nowS, errorText(err)];
      const sup = this.supervisor;
      if (sup !== null) sup.recordRequest('reload_config', { site_file: this.options.siteFile }, false, message);
      else this.post(message);
      this.runtime.logger.warn({ err: errorText(err) }, 'config reload failed; keeping the running config');
      return { ok: false, message, report: null };
    }
    this.site = site;
    this.skipped = plan.skipped;
    const sup = this.supervisor;
    if (sup === null) {
      this.configStatus = [true, nowS, 'parsed; applied when the manager starts'];
      return { ok: true, message: 'config read; applied when the manager starts', report: null };
    }
    const report = sup.syncEntries([...plan.entries, ...this.serviceEntries]);
    this.watchHeartbeatChildren();
    const parts = [
      report.added.length > 0 ? `added ${report.added.join(', ')}` : '',
      report.retired.length > 0 ? `retired ${report.retired.join(', ')}` : '',
      report.restartRequired.length > 0 ? `restart required ${report.restartRequired.join(', ')}` : '',
      report.updated.length > 0 ? `updated ${report.updated.join(', ')}` : '',
    ].filter(Boolean);
    const message = `config reloaded${parts.length > 0 ? `: ${parts.join('; ')}` : ' (no changes)'}`;
    this.configStatus = [true, nowS, message];
    sup.recordRequest('reload_config', { site_file: this.options.siteFile }, true, message);
    this.markChanged();
    return { ok: true, message, report };
  }

  /** The orchestrator's placed service instances; synced with the config's entries. */
  setServiceEntries(entries: readonly SupervisedEntry[]): SyncReport | null {
    this.serviceEntries = [...entries];
    const sup = this.supervisor;
    if (sup === null) return null;
    const report = sup.syncEntries([...buildEntries(this.site, this.entryContext).entries, ...this.serviceEntries]);
    this.watchHeartbeatChildren();
    this.markChanged();
    return report;
  }

  // ---------------------------------------------------------------------------------------
  // wiring

  private wire(sup: Supervisor): void {
    this.options.metrics?.attach(sup);
    sup.on('history.appended', (rec) => this.post(formatHistory(rec)));
    sup.on('child.transitioned', () => this.markChanged());
    sup.on('child.removed', () => this.markChanged());
    sup.on('child.spawned', ({ id }) => {
      this.liveness.onSpawned(id);
      if (sup.get(id)?.spec.ready === 'heartbeat') this.liveness.watch(id);
    });
  }

  private watchHeartbeatChildren(): void {
    for (const s of this.sup?.summaries() ?? []) if (s.ready === 'heartbeat') this.liveness.watch(s.id);
  }

  /** A session message on the running manager (every transition, request and event). */
  private post(text: string): void {
    const session = this.managerSession;
    if (session !== null && session.status !== 'done') session.addMessage(text);
  }

  private markChanged(): void {
    if (this.changeTimer !== undefined) return;
    this.changeTimer = this.clock.setTimeout(() => {
      this.changeTimer = undefined;
      this.refreshManagerData();
      if (this.clock.nowMs() - this.lastFeedAtMs >= CHANGE_DEBOUNCE_MS) this.publishChildStates();
    }, CHANGE_DEBOUNCE_MS);
  }

  /** One block per child: `<id>_state_code` and `<id>_restarts` as integers. */
  private publishChildStates(): void {
    const sup = this.supervisor;
    if (sup === null) return;
    const nowMs = this.clock.nowMs();
    this.lastFeedAtMs = nowMs;
    const used = new Set<string>();
    for (const s of sup.summaries()) {
      const p = fieldPrefix(s.id);
      if (used.has(p)) continue;
      used.add(p);
      try {
        this.feed.publishMessage({
          block_name: p,
          timestamp: nowMs / 1000,
          data: { [`${p}_state_code`]: BigInt(STATE_CODES[s.state]), [`${p}_restarts`]: BigInt(s.restarts) },
        });
      } catch (err) {
        this.runtime.logger.warn({ err: errorText(err), instance_id: s.id }, 'child_states block refused');
      }
    }
    this.feed.flushBuffer();
  }

  private isDegraded(): boolean {
    return (this.sup?.summaries() ?? []).some((s) => s.state === CHILD_STATES.CRASHED || s.isStuck);
  }

  /** The manager's session.data (design §3.5, with HostManager's child_states and config_parse_status). */
  private refreshManagerData(): void {
    const session = this.managerSession;
    const sup = this.sup;
    if (session === null || sup === null) return;
    const st = sup.status(HISTORY_IN_DATA);
    // times and durations go out as floats, as OCS's Python sends them
    session.data = markFloats({
      supervisor: { instance_id: this.options.instanceId, host: this.options.hostKey, ...st.supervisor },
      // as OCS's HostManager: an instance it cannot run is listed, not operable (ocsbow shows it)
      child_states: [...st.child_states, ...this.skipped.map(skippedChildState)],
      services: st.services,
      orphans: st.orphans,
      config_parse_status: { '[SCF]': this.configStatus },
      skipped: Object.fromEntries(this.skipped.map((s) => [s.id, s.reason])),
      registry: this.liveness.status(),
      history: st.history.map(historyView),
    });
    if (session.status === 'running') session.degraded = this.isDegraded();
  }

  // ---------------------------------------------------------------------------------------
  // operations

  /** An op's credential level: 1 under `none`, else its default, raised by `--op-privs`. */
  private privs(level: number, op: string): number {
    return this.options.accessPolicy.policy === 'none' ? 1 : Math.max(level, this.options.args.op_privs[op] ?? 0);
  }

  /** The running supervisor when `manager` runs, else the OCS refusal text. */
  private requireManager(): Supervisor | string {
    const session = this.runtime.ops.session('manager');
    const sup = this.supervisor;
    if (this.isShuttingDown) return `${MANAGER_NOT_RUNNING} (shutting down)`;
    if (session === null || session.status === 'done' || session.status === 'stopping' || sup === null) return MANAGER_NOT_RUNNING;
    return sup;
  }

  private registerOps(): void {
    const rt = this.runtime;
    rt.registerProcess('manager', {
      start: (session, params) => this.runManager(session, params),
      stop: (session) => {
        session.setStatus('stopping');
        return [true, 'Requested manager stop.'] as const;
      },
      params: ManagerParamsSchema,
      startup: { reload_config: false },
      blocking: false,
      minPrivs: this.privs(OP_PRIVS.manager, 'manager'),
      docstring:
        'manager(requests=[], reload_config=True)\n\n**Process** - Supervise this host\'s agents: keep each child in its target state, publish child_states.\n\n' +
        "Parameters:\n    requests (list): (instance_id or 'all', 'up' or 'down') pairs, applied in order.\n    reload_config (bool): Re-read the site file first.\n\n" +
        'Stopping it stops every child (or leaves them running with --on-exit disown).',
    });
    rt.registerTask('update', {
      fn: (session, params) => this.runUpdate(session, params),
      params: UpdateOpParamsSchema,
      blocking: false,
      minPrivs: this.privs(OP_PRIVS.update, 'update'),
      docstring:
        "update(requests=[], reload_config=False)\n\n**Task** - Set target states and/or reload the site file.\n\nParameters:\n    requests (list): (instance_id or 'all', 'up' or 'down') pairs, applied in order.\n    reload_config (bool): Re-read the site file first.",
    });
    const idsVerb = (name: 'start' | 'stop' | 'restart' | 'suspend' | 'resume' | 'reset', doc: string) =>
      this.verbTask(name, IdsParamsSchema, OP_PRIVS[name], `${name}(ids)\n\n**Task** - ${doc}\n\nParameters:\n    ids: an instance id, a list of them, or 'all'.`, (sup, p) => sup[name](p.ids as Ids));
    idsVerb('start', 'Target up and start now (also the way out of CRASHED, KILLED, EXITED).');
    idsVerb('stop', 'Target down; stop signal, then SIGKILL to the group after the stop timeout.');
    idsVerb('restart', 'Stop, then start again (not charged to the failure budget).');
    idsVerb('suspend', 'SIGSTOP the process group (SUSPENDED).');
    idsVerb('resume', 'SIGCONT the process group (RUNNING again).');
    idsVerb('reset', 'Clear the failure budget and the stuck flag; a CRASHED child with target up starts.');
    this.verbTask('kill', KillParamsSchema, OP_PRIVS.kill, "kill(ids, signal='SIGKILL')\n\n**Task** - Target down and signal; ends KILLED (down until start).", (sup, p) =>
      sup.kill(p.ids as Ids, p.signal),
    );
    this.verbTask('signal', SignalParamsSchema, OP_PRIVS.signal, 'signal(id, signal)\n\n**Task** - Send a raw signal to the child\'s process group.', (sup, p) => sup.signal(p.id, p.signal));
    this.verbTask(
      'remove',
      RemoveOpParamsSchema,
      OP_PRIVS.remove,
      "remove(ids, running='stop')\n\n**Task** - Forget children; a running one is stopped, killed, or left running untracked (disown).",
      (sup, p) => sup.remove({ ids: p.ids as Ids, running: p.running }),
    );
    this.verbTask('cancel', CancelParamsSchema, OP_PRIVS.cancel, 'cancel(id, keep=False)\n\n**Task** - Cancel a PENDING start: remove the child, or keep it STOPPED.', (sup, p) =>
      sup.cancel(p.id, p.keep),
    );
    this.verbTask(
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
    this.verbTask(
      'create',
      CreateOpParamsSchema,
      OP_PRIVS.create,
      'create(id, cmd, cwd=None, env=None, agent_class=None, restart=None, restart_times=None, stop_signal=None, stop_timeout_s=None, kill_timeout_s=None, ready=None, ready_timeout_s=None, hung_restart_after_s=None, log_max_bytes=None, log_keep=None, start_at=None, delay_s=None, cron=None, tz=None, action=None, missed=None, run_at_create=None, create_stopped=False)\n\n' +
        '**Task** - Supervise a new command (only with --allow-exec).',
      (sup, p) => {
        if (!this.args.allow_exec) return refusal(EXEC_DISABLED);
        const problem = scheduleProblem(p);
        if (problem !== null) return refusal(`create refused: ${problem}`);
        return sup.create(createParamsOf(p));
      },
    );
    this.verbTask(
      'open',
      OpenOpParamsSchema,
      OP_PRIVS.open,
      'open(pid, id=None, cmd=None, cwd=None, env=None, expect_cmdline=None, restart=None, stop_signal=None, stop_timeout_s=None)\n\n**Task** - Adopt a running process by pid (a cmd to run it again needs --allow-exec).',
      (sup, p) => {
        if (p.cmd !== undefined && !this.args.allow_exec) return refusal('open refused: a cmd to run the process again needs --allow-exec on this HostManager');
        return sup.open(openParamsOf(p));
      },
    );
    rt.registerTask('logs', {
      fn: (session, params) => {
        const sup = this.requireManager();
        if (typeof sup === 'string') return [false, sup];
        const result = sup.logs({ id: params.id, stream: params.stream, lines: params.lines });
        session.data = { id: result.id, stdout: result.stdout, stderr: result.stderr };
        return [result.ok, result.message];
      },
      params: LogsOpParamsSchema,
      blocking: false,
      minPrivs: this.privs(OP_PRIVS.logs, 'logs'),
      docstring: "logs(id, stream='both', lines=100)\n\n**Task** - The tail of a child's stdout/stderr files, in session.data.",
    });
    rt.registerTask('die', {
      fn: (session, params) => this.runDie(session, params),
      params: DieOpParamsSchema,
      blocking: false,
      minPrivs: this.privs(OP_PRIVS.die, 'die'),
      docstring: 'die(disown=False, timeout_s=30)\n\n**Task** - Stop the manager (children stopped, or left running with disown=True), then exit.',
    });
  }

  private verbTask<S extends z.ZodObject>(name: string, schema: S, level: number, docstring: string, fn: (sup: Supervisor, params: z.infer<S>) => VerbResult & { refusedHere?: boolean }): void {
    this.runtime.registerTask(name, {
      fn: (session, params) => {
        const sup = this.requireManager();
        if (typeof sup === 'string') return [false, sup];
        const result = fn(sup, params);
        if (result.refusedHere === true) sup.recordRequest(name, { ...params }, false, result.message);
        session.data = { results: result.results.map(resultView) };
        this.refreshManagerData();
        return [result.ok, result.message];
      },
      params: schema,
      blocking: false,
      minPrivs: this.privs(level, name),
      docstring,
    });
  }

  private async runManager(session: OpSession, params: { requests: unknown[][]; reload_config: boolean }): Promise<OpResult> {
    if (this.isShuttingDown) return [false, 'HostManager is shutting down'];
    if (this.supervisor === null) {
      if (this.closing !== null) await this.closing;
      try {
        await this.open();
      } catch (err) {
        return [false, `cannot start supervising: ${errorText(err)}`];
      }
    }
    this.managerSession = session;
    session.setStatus('running');
    if (params.reload_config) this.reloadConfig();
    const sup = this.supervisor;
    if (sup !== null) for (const note of this.applyRequests(sup, params.requests).notes) session.addMessage(note);
    this.refreshManagerData();
    while (!session.stopRequested && this.supervisor !== null) {
      await session.sleep(MANAGER_REFRESH_MS);
      this.refreshManagerData();
    }
    const result = await this.closeSupervisor(this.exitMode, this.exitTimeoutMs);
    this.refreshManagerData();
    this.managerSession = null;
    return [result.ok, `Manager stopped: ${result.message}`];
  }

  private async runUpdate(session: OpSession, params: { requests: unknown[][]; reload_config: boolean }): Promise<OpResult> {
    const sup = this.requireManager();
    if (typeof sup === 'string') return [false, sup];
    const notes: string[] = [];
    if (params.reload_config) notes.push(this.reloadConfig().message);
    const applied = this.applyRequests(sup, params.requests);
    notes.push(...applied.notes);
    for (const note of notes) session.addMessage(note);
    session.data = { results: applied.results.map(resultView) };
    this.refreshManagerData();
    return [true, notes.length > 0 ? notes[notes.length - 1]! : 'No requests.'];
  }

  /**
   * HostManager's `requests`: `[instance_id | 'all', 'up' | 'down']`, in order. An invalid pair or
   * an unknown id gives a note and the rest still applies. `up` on an EXITED or CRASHED child
   * starts it (HostManager restarts anything whose target is up).
   */
  applyRequests(sup: Supervisor, requests: readonly unknown[][]): { notes: string[]; results: ChildResult[] } {
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

  private async runDie(session: OpSession, params: { disown: boolean; timeout_s: number }): Promise<OpResult> {
    const mode = params.disown ? 'disown' : 'stop';
    session.addMessage(`stopping the manager (${mode}), then exiting`);
    const result = await (this.isShuttingDown ? this.closeSupervisor() : this.stopThroughShutdown(mode, params.timeout_s * 1000));
    return [result.ok, `${result.message}; exiting`];
  }

  /** Stops the manager now and leaves the router a moment later (the die task's reply goes out first). */
  private async stopThroughShutdown(mode: 'stop' | 'disown', timeoutMs: number): Promise<VerbResult> {
    this.exitMode = mode;
    this.exitTimeoutMs = timeoutMs;
    const manager = this.runtime.ops.session('manager');
    if (manager !== null && manager.status !== 'done' && manager.status !== 'stopping') this.runtime.ops.stopOp('stop', 'manager', null, null, true);
    const result = await this.closeSupervisor(mode, timeoutMs);
    this.clock.setTimeout(() => void this.shutdown('die', mode, timeoutMs), 500);
    return result;
  }
}

/** A refusal by the HostManager itself (the core never saw the request; it is audited as one). */
function refusal(message: string): VerbResult & { refusedHere: true } {
  return { ok: false, message, results: [], refusedHere: true };
}

function resultView(r: ChildResult): Record<string, unknown> {
  return { instance_id: r.id, ok: r.ok, message: r.message, state: r.state, pid: r.pid };
}

function historyView(rec: HistoryRecord): Record<string, unknown> {
  const { atMs, ...rest } = rec;
  return { t: atMs / 1000, ...rest };
}

/** One session message per audit record. */
export function formatHistory(rec: HistoryRecord): string {
  switch (rec.kind) {
    case 'transition':
      return `${rec.id}: ${rec.from} -> ${rec.to} (${rec.cause ?? ''})${rec.pid != null ? ` pid ${rec.pid}` : ''}`;
    case 'request':
      return `request ${rec.verb}${rec.params !== undefined ? ` ${JSON.stringify(rec.params)}` : ''}: ${rec.ok ? 'ok' : 'refused'}: ${rec.message ?? ''}`;
    default: {
      const who = rec.id ?? 'supervisor';
      const tail = rec.event === 'child.exited' ? (rec.data?.['stderr_tail'] as string[] | undefined) : undefined;
      const text = `${who}: ${rec.event ?? 'event'}: ${rec.message ?? ''}`;
      return tail !== undefined && tail.length > 0 ? `${text}\nstderr (last ${tail.length} lines):\n${tail.join('\n')}` : text;
    }
  }
}
