import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import { ConfigError, messageOf } from '../../lib/errors.js';
import type { Feed } from '../../lib/feeds/feed.js';
import type { OpResult } from '../../lib/ops/op-spec.js';
import type { OpSession } from '../../lib/ops/op-session.js';
import { AGENT_TICKET_VAR, agentTicket } from '../../lib/site-config/identities.js';
import { loadSiteConfig } from '../../lib/site-config/load.js';
import { siteInstanceIds } from '../../lib/site-config/site-lookup.js';
import type { SiteConfig } from '../../lib/site-config/schema.js';
import { CHILD_STATES } from '../../lib/supervisor/child-record.js';
import type { SupervisedEntry } from '../../lib/supervisor/supervised-entry.js';
import { Supervisor, type InitReport, type SyncReport, type VerbResult } from '../../lib/supervisor/supervisor.js';
import type { HostManagerArgs } from './config.js';
import { buildEntries, type EntryContext, type SkippedEntry } from './entries.js';
import { ChildLiveness } from './liveness.js';
import { OrchestratorBinding } from './orchestrator-binding.js';
import { clusterEntries } from './orchestrator-entries.js';
import { formatHistory, managerSessionData, publishChildStateBlocks, type ParseStatus } from './manager-views.js';
import { MANAGER_NOT_RUNNING, OP_PRIVS, applyUpdateRequests, registerVerbTasks, resultView } from './verb-tasks.js';
import { DieOpParamsSchema, ManagerParamsSchema, UpdateOpParamsSchema } from './params.js';
import type { HostManagerEvents, HostManagerHost, HostManagerOptions } from './host-manager-options.js';


const MANAGER_REFRESH_MS = 1000;
const CHANGE_DEBOUNCE_MS = 100;
const HISTORY_IN_DATA = 50;

/** A child's own ticket under agent identities (OCS_AGENT_TICKET). */
function ticketEnv(key: string): (id: string) => Record<string, string> {
  return (id) => ({ [AGENT_TICKET_VAR]: agentTicket(key, id) });
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
      resourceSampleMs: this.args.resource_interval * 1000,
      cpuWindowMs: this.args.cpu_window * 1000,
      cgroups: this.args.cgroups,
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
      const message = `config reload failed; keeping the running config: ${messageOf(err)}`;
      this.configStatus = [false, nowS, messageOf(err)];
      const sup = this.supervisor;
      if (sup !== null) sup.recordRequest('reload_config', { site_file: this.options.siteFile }, false, message);
      else this.post(message);
      this.runtime.logger.warn({ err: messageOf(err) }, 'config reload failed; keeping the running config');
      return { ok: false, message, report: null };
    }
    this.site = site;
    this.skipped = plan.skipped;
    this.orchestrator?.onSiteReloaded(site);
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
    publishChildStateBlocks(this.feed, sup.summaries(), nowMs, this.runtime.logger);
  }

  private isDegraded(): boolean {
    return (this.sup?.summaries() ?? []).some((s) => s.state === CHILD_STATES.CRASHED || s.isStuck);
  }

  /** The manager's session.data (design §3.5, with HostManager's child_states and config_parse_status). */
  private refreshManagerData(): void {
    const session = this.managerSession;
    const sup = this.sup;
    if (session === null || sup === null) return;
    session.data = managerSessionData(sup.status(HISTORY_IN_DATA), {
      instanceId: this.options.instanceId,
      hostKey: this.options.hostKey,
      skipped: this.skipped,
      configStatus: this.configStatus,
      registry: this.liveness.status(),
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
    registerVerbTasks({
      runtime: rt,
      allowExec: this.args.allow_exec,
      privs: (level, op) => this.privs(level, op),
      requireManager: () => this.requireManager(),
      refreshManagerData: () => this.refreshManagerData(),
    });
    rt.registerTask('die', {
      fn: (session, params) => this.runDie(session, params),
      params: DieOpParamsSchema,
      blocking: false,
      minPrivs: this.privs(OP_PRIVS.die, 'die'),
      docstring: 'die(disown=False, timeout_s=30)\n\n**Task** - Stop the manager (children stopped, or left running with disown=True), then exit.',
    });
  }

  private async runManager(session: OpSession, params: { requests: unknown[][]; reload_config: boolean }): Promise<OpResult> {
    if (this.isShuttingDown) return [false, 'HostManager is shutting down'];
    if (this.supervisor === null) {
      if (this.closing !== null) await this.closing;
      try {
        await this.open();
      } catch (err) {
        return [false, `cannot start supervising: ${messageOf(err)}`];
      }
    }
    this.managerSession = session;
    session.setStatus('running');
    if (params.reload_config) this.reloadConfig();
    const sup = this.supervisor;
    if (sup !== null) for (const note of applyUpdateRequests(sup, params.requests).notes) session.addMessage(note);
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
    const applied = applyUpdateRequests(sup, params.requests);
    notes.push(...applied.notes);
    for (const note of notes) session.addMessage(note);
    session.data = { results: applied.results.map(resultView) };
    this.refreshManagerData();
    return [true, notes.length > 0 ? notes[notes.length - 1]! : 'No requests.'];
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

