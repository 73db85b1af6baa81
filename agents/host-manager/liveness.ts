import { systemClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { AgentRecord } from '../../lib/registry/agent-record.js';
import type { AgentStatusEvent } from '../../lib/registry/agent-status-event.js';
import { isExpiredAt } from '../../lib/registry/liveness-rule.js';
import { RegistryWatcher } from '../../lib/registry/registry-watcher.js';
import { CHILD_STATES, type ChildState } from '../../lib/supervisor/child-record.js';

/**
 * Readiness and liveness of the HostManager's heartbeat-ready children.
 *
 * Sources:
 * - The Registry (`--registry-id`, default `registry`): its table (`main` session.data) and its
 *   change feed `agent_status`, followed with lib/registry's RegistryWatcher. `appeared`,
 *   `restarted`, `recovered` and `op_changed` mean a heartbeat was heard (readiness, recovery);
 *   `expired` feeds the supervisor's hung detection. While the Registry is up it is the only
 *   judge of expiry for the children in its table, so the HostManager and every other client
 *   agree on who is expired.
 * - Each child's own heartbeat topic `{root}.{id}.feeds.heartbeat`, subscribed once per child.
 *   A child becomes RUNNING on the first heartbeat heard from either source, so readiness does
 *   not depend on a Registry. Without a live Registry (its own heartbeat not heard for
 *   `agentTimeoutMs`, or its table unreadable), or for a child the Registry has not heard yet,
 *   expiry is judged here from these heartbeats by the Registry's rule (lib/registry/liveness-rule.ts): no heartbeat for
 *   `agentTimeoutMs` ⇒ expired.
 *
 * A heartbeat or event carries the agent's feed `session_id` (one per agent process). When a
 * child is spawned again, the session of its previous run becomes stale: a late heartbeat or
 * change event of the old process never makes the new run ready or expired.
 */

export interface LivenessSink {
  onHeartbeat(id: string): void;
  onExpired(id: string): void;
  /** The child's state, or null when the id is not supervised. */
  stateOf(id: string): ChildState | null;
}

export interface ChildLivenessOptions {
  addressRoot: string;
  registryId: string;
  /** No heartbeat for this long ⇒ expired (local judgement without a Registry); also the Registry's own liveness. */
  agentTimeoutMs: number;
  /** A standing subscription (re-made after reconnects); `handler` gets the event's positional args. */
  subscribe(topic: string, handler: (args: unknown[] | undefined) => void): Promise<void>;
  call(procedure: string, args: unknown[], kwargs?: Record<string, unknown>): Promise<unknown>;
  /** The supervisor to report to (it changes when `manager` is restarted); null while there is none. */
  sink(): LivenessSink | null;
  clock?: Clock;
  logger?: Logger;
  /** How often local expiry is checked. */
  checkIntervalMs?: number;
}

export interface LivenessStatus {
  registry_id: string;
  /** registry: expiry from the Registry's table; local: from the children's own heartbeats. */
  liveness: 'registry' | 'local';
  registry_synced: boolean;
  registry_heartbeat_age_s: number | null;
  watched: number;
}

/** Registry events that mean "a heartbeat of this session was heard". */
const HEARD_EVENTS: ReadonlySet<string> = new Set(['agent.appeared', 'agent.restarted', 'agent.recovered', 'agent.op_changed']);
const RESYNC_MIN_INTERVAL_MS = 2000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The feed `session_id` of a heartbeat event (`[[op_codes, feed_encoded]]`), or null. */
export function heartbeatSessionId(args: unknown[] | undefined): string | null {
  const pair = args?.[0];
  if (!Array.isArray(pair)) return null;
  const feed = pair[1];
  return isRecord(feed) && typeof feed['session_id'] === 'string' ? feed['session_id'] : null;
}

export class ChildLiveness {
  readonly watcher: RegistryWatcher;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly watched = new Set<string>();
  private readonly watchedSinceMs = new Map<string, number>();
  private readonly lastBeatMs = new Map<string, number>();
  /** Session of the current run, once one of its heartbeats was accepted. */
  private readonly currentSession = new Map<string, string>();
  /** Last session heard from the child, whichever run it belongs to. */
  private readonly lastSession = new Map<string, string>();
  /** Session of the run before the current one: ignored. */
  private readonly staleSession = new Map<string, string>();
  private readonly expiredLocally = new Set<string>();
  private registryBeatAtMs: number | null = null;
  private registrySession: string | null = null;
  private isSynced = false;
  private syncing: Promise<void> | undefined;
  private lastSyncAttemptMs = -Infinity;
  private checkTimer: TimerHandle | undefined;
  private isStarted = false;
  /** One router subscription per topic (the Registry's heartbeat topic is also a child's when it is supervised). */
  private readonly topicHandlers = new Map<string, ((args: unknown[] | undefined) => void)[]>();

  constructor(private readonly options: ChildLivenessOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger();
    this.prefix = `${options.addressRoot}.`;
    const registryAddress = `${options.addressRoot}.${options.registryId}`;
    this.watcher = new RegistryWatcher({
      registryAddress,
      subscribe: async (topic, handler) => {
        await options.subscribe(topic, handler);
        return () => undefined;
      },
      call: (procedure, args, kwargs) => options.call(procedure, args, kwargs),
      clock: this.clock,
      logger: this.log,
    });
    this.watcher.on('change', (event) => this.onRegistryEvent(event));
    this.watcher.on('synced', (records) => this.onRegistrySynced(records));
  }

  /** Subscribes to the Registry's heartbeat and starts the local expiry check. */
  async start(): Promise<void> {
    if (this.isStarted) return;
    this.isStarted = true;
    await this.listen(`${this.prefix}${this.options.registryId}.feeds.heartbeat`, (args) => this.onRegistryHeartbeat(args));
    this.checkTimer = this.clock.setInterval(() => this.checkLocalExpiry(), this.options.checkIntervalMs ?? 1000);
  }

  stop(): void {
    this.clock.clearInterval(this.checkTimer);
    this.checkTimer = undefined;
    void this.watcher.stop();
  }

  /** After (re)joining the router: read the Registry's table again. */
  onJoined(): void {
    this.isSynced = false;
    this.resync(true);
  }

  /** True while the Registry beats and its table has been read since its last restart. */
  isRegistryLive(): boolean {
    const at = this.registryBeatAtMs;
    return this.isSynced && at !== null && !isExpiredAt(at, this.clock.nowMs(), this.options.agentTimeoutMs);
  }

  /** Follows this child's own heartbeats from now on (idempotent). */
  watch(id: string): void {
    if (this.watched.has(id)) return;
    this.watched.add(id);
    this.watchedSinceMs.set(id, this.clock.nowMs());
    this.listen(`${this.prefix}${id}.feeds.heartbeat`, (args) => this.onChildHeartbeat(id, args)).catch((err: unknown) => {
      this.log.warn({ err, instance_id: id }, 'cannot subscribe to a child heartbeat');
    });
  }

  private async listen(topic: string, handler: (args: unknown[] | undefined) => void): Promise<void> {
    const existing = this.topicHandlers.get(topic);
    if (existing !== undefined) {
      existing.push(handler);
      return;
    }
    const handlers = [handler];
    this.topicHandlers.set(topic, handlers);
    await this.options.subscribe(topic, (args) => {
      for (const h of handlers) {
        try {
          h(args);
        } catch (err) {
          this.log.error({ err, topic }, 'heartbeat handler failed');
        }
      }
    });
  }

  /** A new run of the child was spawned: the previous run's session is stale from now on. */
  onSpawned(id: string): void {
    const previous = this.currentSession.get(id) ?? this.lastSession.get(id);
    if (previous !== undefined) this.staleSession.set(id, previous);
    this.currentSession.delete(id);
    this.expiredLocally.delete(id);
    this.lastBeatMs.set(id, this.clock.nowMs());
  }

  status(): LivenessStatus {
    const at = this.registryBeatAtMs;
    return {
      registry_id: this.options.registryId,
      liveness: this.isRegistryLive() ? 'registry' : 'local',
      registry_synced: this.isSynced,
      registry_heartbeat_age_s: at === null ? null : Math.round(this.clock.nowMs() - at) / 1000,
      watched: this.watched.size,
    };
  }

  private isStale(id: string, session: string | null): boolean {
    return session !== null && this.staleSession.get(id) === session;
  }

  private onChildHeartbeat(id: string, args: unknown[] | undefined): void {
    const now = this.clock.nowMs();
    const session = heartbeatSessionId(args);
    this.lastBeatMs.set(id, now);
    if (session !== null) this.lastSession.set(id, session);
    const sink = this.options.sink();
    const state = sink?.stateOf(id) ?? null;
    if (sink === null || state === null || this.isStale(id, session)) return;
    if (state === CHILD_STATES.STARTING) {
      if (session !== null) this.currentSession.set(id, session);
      sink.onHeartbeat(id);
      return;
    }
    if (this.isJudgedByRegistry(id)) return;
    if (session !== null) this.currentSession.set(id, session);
    this.expiredLocally.delete(id);
    sink.onHeartbeat(id);
  }

  /** The Registry decides this child's expiry: it is live and has the child in its table. */
  private isJudgedByRegistry(id: string): boolean {
    return this.isRegistryLive() && this.watcher.get(`${this.prefix}${id}`) !== undefined;
  }

  private onRegistryHeartbeat(args: unknown[] | undefined): void {
    this.registryBeatAtMs = this.clock.nowMs();
    const session = heartbeatSessionId(args);
    if (session !== null && session !== this.registrySession) {
      // A new Registry process: its table starts over.
      this.registrySession = session;
      this.isSynced = false;
      this.resync(true);
      return;
    }
    if (!this.isSynced) this.resync(false);
  }

  private resync(isUrgent: boolean): void {
    if (this.syncing !== undefined) return;
    const now = this.clock.nowMs();
    if (!isUrgent && now - this.lastSyncAttemptMs < RESYNC_MIN_INTERVAL_MS) return;
    this.lastSyncAttemptMs = now;
    this.syncing = this.watcher
      .start()
      .catch((err: unknown) => {
        this.isSynced = false;
        this.log.debug({ err, registry: this.options.registryId }, 'registry table not readable; judging liveness locally');
      })
      .finally(() => {
        this.syncing = undefined;
      });
  }

  private idOf(agentAddress: string): string | null {
    return agentAddress.startsWith(this.prefix) ? agentAddress.slice(this.prefix.length) : null;
  }

  private onRegistrySynced(records: AgentRecord[]): void {
    this.isSynced = true;
    const sink = this.options.sink();
    if (sink === null) return;
    for (const record of records) {
      const id = this.idOf(record.agent_address);
      if (id === null || !this.watched.has(id)) continue;
      const state = sink.stateOf(id);
      if (state !== CHILD_STATES.RUNNING && state !== CHILD_STATES.SUSPENDED) continue;
      this.expiredLocally.delete(id);
      if (record.expired) sink.onExpired(id);
      else sink.onHeartbeat(id);
    }
  }

  private onRegistryEvent(event: AgentStatusEvent): void {
    const id = this.idOf(event.agent_address);
    if (id === null || !this.watched.has(id)) return;
    const sink = this.options.sink();
    const state = sink?.stateOf(id) ?? null;
    if (sink === null || state === null) return;
    const session = event.session_id;
    if (session !== null) this.lastSession.set(id, session);
    if (this.isStale(id, session)) return;
    if (event.event === 'agent.expired') {
      if (state === CHILD_STATES.RUNNING || state === CHILD_STATES.SUSPENDED) sink.onExpired(id);
      return;
    }
    if (!HEARD_EVENTS.has(event.event)) return;
    if (session !== null) this.currentSession.set(id, session);
    this.expiredLocally.delete(id);
    sink.onHeartbeat(id);
  }

  /**
   * Children the Registry does not judge (none live, or it has not heard the child yet): a
   * RUNNING child silent for agentTimeoutMs is expired (once, until it beats again).
   */
  private checkLocalExpiry(): void {
    const sink = this.options.sink();
    if (sink === null) return;
    const now = this.clock.nowMs();
    for (const id of this.watched) {
      if (this.expiredLocally.has(id) || this.isJudgedByRegistry(id)) continue;
      if (sink.stateOf(id) !== CHILD_STATES.RUNNING) continue;
      const last = this.lastBeatMs.get(id) ?? this.watchedSinceMs.get(id) ?? now;
      if (!isExpiredAt(last, now, this.options.agentTimeoutMs)) continue;
      this.expiredLocally.add(id);
      sink.onExpired(id);
    }
  }
}
