import { loadavg } from 'node:os';
import type { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { messageOf } from '../../lib/errors.js';
import type { Feed } from '../../lib/feeds/feed.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { OpResult } from '../../lib/ops/op-spec.js';
import type { OpSession } from '../../lib/ops/op-session.js';
import { markFloats } from '../../lib/ops/session-data.js';
import {
  HELD_STATES,
  Orchestrator,
  REGISTRY_UNAVAILABLE,
  registryViewFromSession,
  type ClusterView,
  type OrchestratorCommand,
  type OrchestratorOptions,
  type RegistryView,
  type TickResult,
} from '../../lib/orchestrator/index.js';
import type { AccessPolicy } from '../../lib/site-config/access-policy.js';
import type { SiteConfig } from '../../lib/site-config/schema.js';
import { ArgumentRollouts } from './argument-rollouts.js';
import { CHILD_STATES, type ChildState } from '../../lib/supervisor/child-record.js';
import type { HistoryRecord } from '../../lib/supervisor/history-log.js';
import { failuresInWindow } from '../../lib/supervisor/restart-policy.js';
import type { Supervisor, TransitionEvent, VerbResult } from '../../lib/supervisor/supervisor.js';
import { hostManagerIds } from './orchestrator-entries.js';
import { registerOrchestratorTasks } from './orchestrator-tasks.js';
import { readOrchestratorState, sessionOfReply, writeOrchestratorState } from './orchestrator-io.js';
import { OrchestratorProcessParamsSchema } from './orchestrator-params.js';

/** The parts of AgentRuntime the binding uses. */
export type OrchestratorHost = Pick<AgentRuntime, 'logger' | 'registerTask' | 'registerProcess' | 'registerFeed' | 'subscribe' | 'call'>;

export interface OrchestratorBindingOptions {
  runtime: OrchestratorHost;
  /** The running supervisor, or null (it changes when the HostManager's `manager` restarts). */
  supervisor: () => Supervisor | null;
  site: SiteConfig;
  /** This host's key under `hosts:` (as listed in the services' `hosts`). */
  host: string;
  /** This HostManager's instance-id (its placement feed is `{root}.{id}.feeds.placement`). */
  hmInstanceId: string;
  addressRoot: string;
  /** Instance-id of the Registry whose `main` table tells which HostManagers heartbeat. */
  registryId?: string;
  /** Where the orchestrator's snapshot (epochs, claims, blocks, freezes, intents) is kept. */
  stateFile: string;
  accessPolicy?: AccessPolicy;
  /** `--op-privs`: raised credential levels by op name. */
  opPrivs?: Readonly<Record<string, number>>;
  clock?: Clock;
  logger?: Logger;
  /** Grace, ready period and the other timings (lib/orchestrator defaults otherwise). */
  options?: Partial<OrchestratorOptions>;
  tickIntervalMs?: number;
  registryPollIntervalMs?: number;
}

/** One thing the orchestrator did on this host (session data `actions`, newest last). */
export interface OrchestratorAction {
  /** Unix seconds. */
  t: number;
  type: OrchestratorCommand['type'];
  instance_id: string;
  reason: string;
  ok: boolean;
  message: string;
}

/** Credential level of the orchestrator's tasks under an access policy (as the HostManager's start/stop). */
export const ORCHESTRATOR_OP_PRIVS = 2;

const TICK_INTERVAL_MS = 250;
const REGISTRY_POLL_INTERVAL_MS = 1000;
/** A registry `status` call that has not answered by then counts as the registry being unavailable. */
const REGISTRY_CALL_TIMEOUT_MS = 3000;
/** How long stopping the process waits for this host's instances to end. */
const LEAVE_TIMEOUT_MS = 30_000;
const ACTIONS_IN_DATA = 50;

/**
 * The HostManager side of the cluster orchestrator (lib/orchestrator, supervisor-design §3.8):
 * the `orchestrator` process and its tasks, and the I/O around the pure core.
 *
 * - Every `tickIntervalMs` the core ticks; its `start` / `stop` commands run on the local
 *   supervisor (`start` / `stop` of the instance's entry, see orchestrator-entries.ts), its
 *   placement message goes out on `{root}.{hm-id}.feeds.placement`, and a changed snapshot is
 *   written to `stateFile` (restored when the process starts again).
 * - Every peer's placement feed comes in through a wildcard subscription to
 *   `{root}..feeds.placement`; the Registry's `main` table is read every second
 *   (`{root}.{registry}.ops` `status main`; a failed call is an unavailable registry).
 * - Local states: every transition of a cluster instance in the supervisor. An unrequested exit
 *   that spends the service's failure budget is reported as CRASHED, so the host gives the
 *   instance up (`start_failed`) until `clear`. An operator's `start` / `stop` (and `update`,
 *   `restart`, `kill`) of a cluster instance on this HostManager is a local expect: a stopped
 *   instance makes this host no candidate until it is started again.
 * - `beforeSupervisorClose(mode)` (the HostManager calls it before stopping its supervisor):
 *   `stop` stops this host's instances first and publishes that the host leaves, so peers take
 *   over at once and a restarted HostManager starts none of them by itself; `disown` announces a
 *   maintenance window (the instances keep running, peers wait).
 * - Stopping the `orchestrator` process: this host leaves the cluster (its instances are stopped).
 *
 * Session data of the process: the cluster view (design §3.5 `orchestrator`) plus `actions`.
 */
export class OrchestratorBinding {
  readonly feed: Feed;
  private readonly runtime: OrchestratorHost;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly slots: ReadonlySet<string>;
  private readonly registryAddress: string;
  private readonly tickIntervalMs: number;
  private readonly pollIntervalMs: number;
  private orch: Orchestrator | null = null;
  private session: OpSession | null = null;
  private attached: Supervisor | null = null;
  private detachListeners: (() => void) | null = null;
  private shutdownMode: 'stop' | 'disown' | null = null;
  private isPolling = false;
  private nextPollAtMs = 0;
  private isIssuing = false;
  private isSubscribed = false;
  /** Instances reported CRASHED (failure budget spent): their budget is reset before the next start here. */
  private readonly overBudget = new Set<string>();
  private readonly actions: OrchestratorAction[] = [];
  private readonly argumentRollouts: ArgumentRollouts;

  constructor(private readonly options: OrchestratorBindingOptions) {
    this.runtime = options.runtime;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? options.runtime.logger ?? silentLogger()).child({ component: 'orchestrator-binding' });
    this.slots = new Set(Object.values(options.site.services).flatMap((s) => s.instanceIds));
    this.argumentRollouts = new ArgumentRollouts(options.site, this.log);
    this.registryAddress = `${options.addressRoot}.${options.registryId ?? 'registry'}`;
    this.tickIntervalMs = options.tickIntervalMs ?? TICK_INTERVAL_MS;
    this.pollIntervalMs = options.registryPollIntervalMs ?? REGISTRY_POLL_INTERVAL_MS;
    this.feed = this.runtime.registerFeed('placement', { record: false });
    this.registerOps();
  }

  /** The cluster view (session data of `orchestrator`), or null while the process does not run. */
  view(): ClusterView | null {
    return this.orch?.view() ?? null;
  }

  get isRunning(): boolean {
    return this.orch !== null && this.session?.status === 'running';
  }

  /**
   * The HostManager read its site file again. A cluster service whose `arguments` changed is
   * rolled out (`rollout(service, max_unavailable=1)`) by the first of its hosts that is alive, so
   * its instances pick the new arguments up without a gap; the other hosts leave it to that one.
   * Other changes of `services:` take a HostManager restart.
   */
  onSiteReloaded(site: SiteConfig): void {
    this.argumentRollouts.onSite(site, this.isRunning ? this.orch : null, (text) => this.session?.addMessage(text));
  }

  /**
   * Called before the HostManager stops its supervisor (shutdown, `die`, stopping `manager`),
   * while the supervisor still takes requests. `stop`: the instances here are stopped now (their
   * target goes down, so a restarted HostManager does not start them) and the host announces that
   * it leaves; `disown`: a maintenance window, the instances keep running.
   */
  beforeSupervisorClose(mode: 'stop' | 'disown'): void {
    const orch = this.orch;
    if (orch === null || this.shutdownMode !== null) return;
    this.shutdownMode = mode;
    this.log.info({ mode }, 'leaving the cluster');
    this.apply(orch.shutdown(mode));
  }

  // ---------------------------------------------------------------------------------------
  // the process

  private async runProcess(session: OpSession): Promise<OpResult> {
    await this.ensureSubscribed();
    this.orch = this.createOrchestrator();
    this.session = session;
    this.shutdownMode = null;
    this.nextPollAtMs = 0;
    session.setStatus('running');
    try {
      while (!session.stopRequested) {
        this.step();
        await session.sleep(this.tickIntervalMs);
      }
      await this.leave();
    } finally {
      this.detach();
      this.orch?.close();
      this.orch = null;
      this.session = null;
    }
    return [true, 'Orchestrator stopped'];
  }

  /** The process is being stopped: leave (stop the instances here), wait for them, publish once more. */
  private async leave(): Promise<void> {
    const orch = this.orch;
    if (orch === null) return;
    if (this.shutdownMode === null) {
      this.shutdownMode = 'stop';
      this.apply(orch.shutdown('stop'));
    }
    const deadline = this.clock.nowMs() + LEAVE_TIMEOUT_MS;
    while (this.shutdownMode === 'stop' && this.hasLiveInstance() && this.clock.nowMs() < deadline) {
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.tickIntervalMs));
      this.step();
    }
    this.apply(orch.shutdown(this.shutdownMode));
  }

  private hasLiveInstance(): boolean {
    const sup = this.attached;
    if (sup === null || sup.lifecycle === 'closed') return false;
    return [...this.slots].some((id) => {
      const state = sup.stateOf(id);
      return state !== null && HELD_STATES.has(state);
    });
  }

  private createOrchestrator(): Orchestrator {
    const { site, host, hmInstanceId, addressRoot } = this.options;
    const ids = hostManagerIds(site, { host, instanceId: hmInstanceId });
    const orch = new Orchestrator({
      node: host,
      services: site.services,
      clock: this.clock,
      logger: this.log,
      supervisorAddress: (node) => `${addressRoot}.${ids.get(node) ?? `hm-${node}`}`,
      load1: () => loadavg()[0] ?? null,
      ...(this.options.options !== undefined ? { options: this.options.options } : {}),
    });
    const saved = readOrchestratorState(this.options.stateFile, this.log);
    if (saved !== undefined) {
      const restored = orch.restore(saved);
      if (restored.ok) this.log.info({ state_file: this.options.stateFile }, 'orchestrator state restored');
      else this.log.warn({ state_file: this.options.stateFile, error: restored.error }, 'orchestrator state not restored; starting afresh');
    }
    return orch;
  }

  /** One round: follow the supervisor, poll the registry when due, tick, act, publish, persist. */
  private step(): void {
    if (this.orch === null) return;
    this.followSupervisor();
    const orch = this.orch;
    const now = this.clock.nowMs();
    if (!this.isPolling && now >= this.nextPollAtMs) {
      this.nextPollAtMs = now + this.pollIntervalMs;
      void this.pollRegistry();
    }
    this.apply(orch.tick());
    this.refreshData();
  }

  private apply(result: TickResult): void {
    this.execute(result.commands);
    if (result.placement !== null) {
      try {
        this.feed.publishMessage(result.placement);
      } catch (err) {
        this.log.warn({ err: messageOf(err) }, 'placement message not published');
      }
    }
    if (result.snapshot !== null) writeOrchestratorState(this.options.stateFile, this.log, result.snapshot);
  }

  private refreshData(): void {
    const session = this.session;
    const orch = this.orch;
    if (session === null || orch === null || session.status === 'done') return;
    session.data = markFloats({ ...orch.view(), actions: [...this.actions], rollouts: orch.rolloutReports() });
  }

  // ---------------------------------------------------------------------------------------
  // inputs

  private async ensureSubscribed(): Promise<void> {
    if (this.isSubscribed) return;
    this.isSubscribed = true;
    await this.runtime.subscribe(
      `${this.options.addressRoot}..feeds.placement`,
      (args) => {
        this.orch?.onPlacement(args?.[0]);
      },
      { match: 'wildcard' },
    );
  }

  private async pollRegistry(): Promise<void> {
    this.isPolling = true;
    let view: RegistryView = REGISTRY_UNAVAILABLE;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = this.clock.setTimeout(() => reject(new Error(`no answer within ${REGISTRY_CALL_TIMEOUT_MS} ms`)), REGISTRY_CALL_TIMEOUT_MS);
      });
      const reply = await Promise.race([this.runtime.call(`${this.registryAddress}.ops`, ['status', 'main'], {}), timeout]);
      view = registryViewFromSession(sessionOfReply(reply));
    } catch (err) {
      this.log.debug({ err: messageOf(err), registry: this.registryAddress }, 'registry status not read');
    } finally {
      this.clock.clearTimeout(timer);
      this.isPolling = false;
    }
    this.orch?.onRegistryView(view);
  }

  /**
   * Attaches to a new running supervisor (the first, or a new one after `manager` restarted). The
   * previous one stays attached until then, so the states of a closing supervisor still arrive.
   */
  private followSupervisor(): void {
    const current = this.options.supervisor();
    if (current === null || current === this.attached) return;
    this.detach();
    if (this.shutdownMode !== null && this.orch !== null) {
      // The manager came back after a shutdown: a fresh orchestrator (new incarnation) from the saved state.
      writeOrchestratorState(this.options.stateFile, this.log, this.orch.snapshot());
      this.orch.close();
      this.orch = this.createOrchestrator();
      this.shutdownMode = null;
    }
    this.attach(current);
  }

  private attach(sup: Supervisor): void {
    const onTransition = (ev: TransitionEvent): void => {
      if (this.slots.has(ev.id)) this.orch?.onLocalState({ [ev.id]: this.reportedState(sup, ev.id, ev.to) });
    };
    const onRemoved = ({ id }: { id: string }): void => {
      if (this.slots.has(id)) this.orch?.onLocalState({ [id]: null });
    };
    const onHistory = (rec: HistoryRecord): void => this.onRequest(rec);
    sup.on('child.transitioned', onTransition);
    sup.on('child.removed', onRemoved);
    sup.on('history.appended', onHistory);
    this.detachListeners = () => {
      sup.off('child.transitioned', onTransition);
      sup.off('child.removed', onRemoved);
      sup.off('history.appended', onHistory);
    };
    this.attached = sup;
    const states: Record<string, ChildState | null> = {};
    for (const id of this.slots) {
      const state = sup.stateOf(id);
      states[id] = state === null ? null : this.reportedState(sup, id, state);
    }
    this.orch?.onLocalState(states);
  }

  private detach(): void {
    this.detachListeners?.();
    this.detachListeners = null;
    this.attached = null;
  }

  /**
   * A failure exit (EXITED, classified `failure`) that spends the service's failure budget is
   * reported as CRASHED: the host gives the instance up. A process that vanished with its host
   * (killed with the HostManager, a reboot) is no failure of the instance.
   */
  private reportedState(sup: Supervisor, id: string, state: ChildState): ChildState {
    if (state !== CHILD_STATES.EXITED) return state;
    const rec = sup.get(id);
    if (rec === null || rec.current.lastExit?.classification !== 'failure') return state;
    const policy = rec.spec.restart;
    if (policy.maxRestarts === null || failuresInWindow(rec.current.failTimesMs, policy, this.clock.nowMs()) <= policy.maxRestarts) return state;
    this.overBudget.add(id);
    return CHILD_STATES.CRASHED;
  }

  /** An operator's request on a cluster instance (not one of ours): the local expect of the instance. */
  private onRequest(rec: HistoryRecord): void {
    const orch = this.orch;
    if (orch === null || this.isIssuing || rec.kind !== 'request' || rec.params === undefined) return;
    const idsOf = (value: unknown): string[] => {
      if (value === 'all') return [...this.slots];
      const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
      return list.filter((id): id is string => typeof id === 'string' && this.slots.has(id));
    };
    const expect = (ids: string[], localExpect: 'stopped' | null) => {
      for (const id of ids) {
        orch.setLocalExpect(id, localExpect);
        this.log.info({ instance_id: id, verb: rec.verb, local_expect: localExpect ?? 'started' }, 'operator request on a cluster instance');
      }
    };
    switch (rec.verb) {
      case 'start':
      case 'restart':
        expect(idsOf(rec.params['ids']), null);
        return;
      case 'stop':
      case 'kill':
        expect(idsOf(rec.params['ids']), 'stopped');
        return;
      case 'update': {
        const requests = rec.params['requests'];
        if (!Array.isArray(requests)) return;
        for (const request of requests) {
          if (Array.isArray(request) && (request[1] === 'up' || request[1] === 'down')) expect(idsOf(request[0]), request[1] === 'up' ? null : 'stopped');
        }
        return;
      }
      default:
        return;
    }
  }

  // ---------------------------------------------------------------------------------------
  // outputs

  private execute(commands: readonly OrchestratorCommand[]): void {
    for (const cmd of commands) {
      if (cmd.type === 'freeze' || cmd.type === 'thaw') {
        // The supervisor has no per-entry automation to freeze: a frozen service is left as it is.
        this.log.debug({ instance_id: cmd.instanceId, command: cmd.type, reason: cmd.reason }, 'orchestrator freeze change');
        continue;
      }
      const sup = this.options.supervisor();
      let result: VerbResult;
      this.isIssuing = true;
      try {
        if (sup === null) {
          result = { ok: false, message: 'no running supervisor', results: [] };
        } else if (cmd.type === 'start') {
          if (this.overBudget.delete(cmd.instanceId)) sup.reset(cmd.instanceId);
          result = sup.start(cmd.instanceId);
        } else if (cmd.type === 'restart') {
          result = sup.restart(cmd.instanceId);
        } else {
          result = sup.stop(cmd.instanceId);
        }
      } catch (err) {
        result = { ok: false, message: messageOf(err), results: [] };
      } finally {
        this.isIssuing = false;
      }
      this.record(cmd, result);
      // A start the supervisor refused: this host gives the instance up (start_failed) at once.
      if (cmd.type === 'start' && !result.ok) this.orch?.onLocalState({ [cmd.instanceId]: CHILD_STATES.CRASHED });
    }
  }

  private record(cmd: OrchestratorCommand, result: VerbResult): void {
    const fields = { instance_id: cmd.instanceId, command: cmd.type, reason: cmd.reason, ok: result.ok, message: result.message };
    if (result.ok) this.log.info(fields, 'orchestrator command');
    else this.log.warn(fields, 'orchestrator command refused');
    this.actions.push({ t: this.clock.nowMs() / 1000, type: cmd.type, instance_id: cmd.instanceId, reason: cmd.reason, ok: result.ok, message: result.message });
    if (this.actions.length > ACTIONS_IN_DATA) this.actions.splice(0, this.actions.length - ACTIONS_IN_DATA);
    this.session?.addMessage(`${cmd.type} ${cmd.instanceId}: ${cmd.reason} (${result.ok ? '' : 'refused: '}${result.message})`);
  }

  // ---------------------------------------------------------------------------------------
  // operations

  private privs(op: string): number {
    if (this.options.accessPolicy === undefined || this.options.accessPolicy.policy === 'none') return 1;
    return Math.max(ORCHESTRATOR_OP_PRIVS, this.options.opPrivs?.[op] ?? 0);
  }

  private registerOps(): void {
    this.runtime.registerProcess('orchestrator', {
      start: (session) => this.runProcess(session),
      stop: (session) => {
        session.setStatus('stopping');
        return [true, 'Requested orchestrator stop.'] as const;
      },
      params: OrchestratorProcessParamsSchema,
      startup: true,
      blocking: false,
      minPrivs: this.privs('orchestrator'),
      docstring:
        "orchestrator()\n\n**Process** - Keep the site file's cluster services (services:) placed on their hosts: failover, freeze/thaw, relocate, global_expect.\n\n" +
        'Session data: the cluster view (registry, nodes, services, holders, last failover) and the actions taken here. Stopping it makes this host leave the cluster: its instances are stopped and peers take them over.',
    });
    registerOrchestratorTasks({
      runtime: this.runtime,
      privs: (op) => this.privs(op),
      running: () => (this.isRunning ? this.orch : null),
      step: () => this.step(),
      services: () => Object.keys(this.options.site.services),
    });
  }
}
