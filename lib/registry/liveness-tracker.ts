/**
 * Liveness of every agent on the router, from its heartbeats: the pure core of the Registry
 * (no WAMP; agents/registry subscribes to `{address_root}..feeds.heartbeat` and calls
 * `onHeartbeat` for each event).
 *
 * - Records and the `agent_operations` blocks are OCS's (ocs-protocol §3.3), so `main`'s
 *   session.data and the InfluxDB series look the same to existing clients and dashboards.
 * - Expiry happens exactly `agentTimeoutMs` after the last heartbeat. Each agent has one deadline
 *   timer; a heartbeat only moves the deadline, and the timer, when it fires before the deadline,
 *   re-arms itself for the rest (so a beat costs no timer call, and detection is not a poll).
 *   Expiry sets every op code to 7 (EXPIRED), as OCS does.
 * - No false expiry from a busy process: a due deadline is confirmed after the input that had
 *   arrived by then has been handled (`afterPendingInput`, after-pending-input.ts), so a heartbeat
 *   that was waiting to be read still counts.
 * - Deaf means no verdict: while `pauseExpiry()` is in force (the registry has lost the router)
 *   no live agent expires, and `resumeExpiry()` gives every live agent a full `agentTimeoutMs`
 *   from then on to be heard again.
 * - A change emits an `AgentStatusEvent` at once (see agent-status-event.ts).
 * - A heartbeat whose feed `session_id` differs from the known one is a restart: the new op
 *   codes replace the old, so ops the new process lacks are dropped (OCS keeps them forever).
 *   Within one process the heartbeat lists every op (§3.1), so its op codes also replace the
 *   stored ones; an op it stops listing is dropped with an `agent.op_changed` (after: null).
 * - Expired agents are forgotten `retentionMs` after they expired (Infinity: never, as OCS).
 * - Junk heartbeats are dropped with a rate-limited warning (heartbeat-parser.ts); nothing a
 *   peer sends can throw out of `onHeartbeat`. Lifecycle lines (agent appeared, expired, ...)
 *   are logged within a budget (lib/rate-limited-log.ts), so a burst of 10k changes is one summary line.
 * - At most `maxAgents` agents are tracked. When full, a new address first evicts the agent that
 *   has been expired longest (`agent.forgotten`, reason `evicted`); if no agent is expired, the
 *   new address is dropped (reason `tracker_full`) until one expires. A flood of fake addresses
 *   therefore fills the table, expires 5 s after it stops, and is then displaced by real agents;
 *   live agents are never evicted.
 * - Legacy heartbeats (`0` instead of op codes) keep the agent live and leave its op codes as
 *   they are (empty for an agent that never sent any), as OCS's registry does.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { OpCode } from '../ops/op-codes.js';
import type { SingleSampleBlock } from '../feeds/feed.js';
import { encodeRecord, type AgentRecord, type WireAgentRecord } from './agent-record.js';
import type { AgentStatusEvent, ForgetReason } from './agent-status-event.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { expiryDeadlineMs, isNewSession } from './liveness-rule.js';
import { MAX_NAME_LENGTH, MAX_OPS_PER_AGENT, agentAddressProblem, parseHeartbeat, type ParsedHeartbeat, type HeartbeatEventDetails, type HeartbeatParseOptions } from './heartbeat-parser.js';
import { LIVENESS_SNAPSHOT_VERSION, LivenessSnapshotSchema, SnapshotAgentSchema, type LivenessSnapshot } from './liveness-snapshot.js';
import { applyOpCodes, pushOperationBlocks, replaceOpCodes, snapshotEntry, toRecord, opCodesObject, type TrackedAgent } from './tracked-agent.js';
import { afterCheckPhase } from './after-pending-input.js';
import { AgentTimers } from './agent-timers.js';
import {
  AGENT_EXPIRY_MS,
  AGENT_RETENTION_MS,
  MAX_TRACKED_AGENTS,
  TRACKER_FULL,
  type LivenessTrackerEvents,
  type LivenessTrackerOptions,
  type LivenessTrackerStats,
  type RestoreResult,
} from './liveness-tracker-options.js';

/**
 * Lifecycle lines (agent appeared, expired, ...) of one kind logged one by one per interval; the
 * rest are counted into one summary line. A registry restart at 10,000 agents makes 10,000 agents
 * appear within a second: logging each would cost the time heartbeats need and bury everything
 * else. The change events themselves are all published on `agent_status`.
 */
const LIFECYCLE_LOG_BURST = 50;
export class LivenessTracker extends EventEmitter<LivenessTrackerEvents> {
  private readonly agents = new Map<string, TrackedAgent>();
  /** Expired agents, longest expired first (eviction order). */
  private readonly expiredAgents = new Set<TrackedAgent>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly agentTimeoutMs: number;
  private readonly retentionMs: number;
  private readonly maxAgents: number;
  private readonly parseOptions: Required<HeartbeatParseOptions>;
  private readonly drops: RateLimitedLog;
  private readonly fieldWarnings: RateLimitedLog;
  private readonly lifecycleLog: RateLimitedLog;
  private readonly timers: AgentTimers;
  private readonly warnField = (fields: Record<string, unknown>): void => this.fieldWarnings.note('invalid_field_name', fields);
  private isClosed = false;
  private isExpiryPaused = false;

  constructor(options: LivenessTrackerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    this.agentTimeoutMs = options.agentTimeoutMs ?? AGENT_EXPIRY_MS;
    this.retentionMs = options.retentionMs ?? AGENT_RETENTION_MS;
    this.maxAgents = options.maxAgents ?? MAX_TRACKED_AGENTS;
    this.timers = new AgentTimers(this.clock, options.afterPendingInput ?? afterCheckPhase({ clock: this.clock }));
    if (!(this.agentTimeoutMs > 0) || !(this.retentionMs >= 0) || !(this.maxAgents >= 1) || options.addressRoot === '') {
      throw new ConfigError('liveness tracker: agentTimeoutMs must be > 0, retentionMs >= 0, maxAgents >= 1, addressRoot non-empty', {
        details: { agentTimeoutMs: this.agentTimeoutMs, retentionMs: this.retentionMs, maxAgents: this.maxAgents, addressRoot: options.addressRoot },
      });
    }
    this.parseOptions = {
      addressRoot: options.addressRoot,
      maxOps: options.maxOpsPerAgent ?? MAX_OPS_PER_AGENT,
      maxNameLength: options.maxNameLength ?? MAX_NAME_LENGTH,
      requirePublisherIdentity: options.requirePublisherIdentity ?? false,
    };
    const warnOptions = { clock: this.clock, logger: this.logger, intervalMs: options.warnIntervalMs };
    this.drops = new RateLimitedLog({ ...warnOptions, message: 'heartbeat dropped' });
    this.fieldWarnings = new RateLimitedLog({ ...warnOptions, message: 'improper field name, op skipped in agent_operations' });
    this.lifecycleLog = new RateLimitedLog({ clock: this.clock, logger: this.logger, style: 'summary', burst: LIFECYCLE_LOG_BURST });
  }

  /**
   * Takes one heartbeat EVENT (`args` = its positional arguments, `details.topic` = the concrete
   * topic). Returns whether it was accepted. Never throws.
   */
  onHeartbeat(args: unknown, details?: HeartbeatEventDetails): boolean {
    if (this.isClosed) return false;
    try {
      const result = parseHeartbeat(args, this.parseOptions, details);
      if (!result.ok) {
        this.drops.note(result.reason, { agent_address: result.agentAddress, detail: result.detail });
        return false;
      }
      return this.accept(result.beat);
    } catch (err) {
      this.logger.error({ err }, 'heartbeat handling failed');
      return false;
    }
  }

  get size(): number {
    return this.agents.size;
  }

  /** The OCS record of one agent. */
  record(agentAddress: string): AgentRecord | undefined {
    const agent = this.agents.get(agentAddress);
    return agent === undefined ? undefined : toRecord(agent);
  }

  /** Every tracked agent address, in order of first appearance (a copy: safe to walk while beats arrive). */
  addresses(): string[] {
    return Array.from(this.agents.keys());
  }

  /** Every agent's OCS record, in order of first appearance. */
  records(): AgentRecord[] {
    return Array.from(this.agents.values(), toRecord);
  }

  /** `main`'s session.data: agent_address → record (wire form), in order of first appearance. */
  sessionData(): Record<string, WireAgentRecord> {
    const data: Record<string, WireAgentRecord> = {};
    for (const agent of this.agents.values()) data[agent.address] = encodeRecord(toRecord(agent));
    return data;
  }

  /**
   * The `agent_operations` blocks (OCS: one block per agent op, a single sample
   * `{block_name: F, timestamp: nowS, data: {F: op_code}}`) for every agent, or for one. Op
   * codes are bigints so the feed sends them as integers, as OCS does (InfluxDB `3i`).
   */
  operationBlocks(nowS: number, agentAddress?: string): SingleSampleBlock[] {
    const blocks: SingleSampleBlock[] = [];
    if (agentAddress !== undefined) {
      const agent = this.agents.get(agentAddress);
      if (agent !== undefined) pushOperationBlocks(agent, nowS, blocks, this.warnField);
      return blocks;
    }
    for (const agent of this.agents.values()) pushOperationBlocks(agent, nowS, blocks, this.warnField);
    return blocks;
  }

  stats(): LivenessTrackerStats {
    return {
      agents: this.agents.size,
      live: this.agents.size - this.expiredAgents.size,
      expired: this.expiredAgents.size,
      dropped: this.drops.totals(),
    };
  }

  /** The whole state, expired agents included, for `--state-file`. */
  snapshot(): LivenessSnapshot {
    return {
      version: LIVENESS_SNAPSHOT_VERSION,
      saved_at_ms: this.clock.nowMs(),
      agents: Array.from(this.agents.values(), snapshotEntry),
    };
  }

  /**
   * Loads a snapshot (parsed JSON of unknown shape) without emitting events. Agents that were
   * live get a fresh deadline (now + agentTimeoutMs): they expire only if no heartbeat arrives in
   * time. Expired agents keep their expiry time and are forgotten when their retention ends.
   * Skipped: invalid entries, addresses outside the root, agents already tracked (a heartbeat
   * that came first wins), expired agents past retention, and entries beyond `maxAgents`.
   */
  restore(snapshot: unknown): RestoreResult {
    const parsed = LivenessSnapshotSchema.safeParse(snapshot);
    if (!parsed.success) {
      const error = `invalid registry snapshot: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
      this.logger.warn({ error }, 'registry state not restored');
      return { ok: false, error };
    }
    const nowMs = this.clock.nowMs();
    let restored = 0;
    let skipped = 0;
    const expired: TrackedAgent[] = [];
    for (const raw of parsed.data.agents) {
      const entry = SnapshotAgentSchema.safeParse(raw);
      const e = entry.success ? entry.data : undefined;
      if (
        e === undefined ||
        this.isClosed ||
        this.agents.has(e.agent_address) ||
        this.agents.size >= this.maxAgents ||
        agentAddressProblem(e.agent_address, this.parseOptions.addressRoot, this.parseOptions.maxNameLength) !== null ||
        Object.keys(e.op_codes).length > this.parseOptions.maxOps ||
        (e.expired && (e.expired_at_ms ?? e.last_beat_ms) + this.retentionMs <= nowMs)
      ) {
        skipped++;
        continue;
      }
      const agent = this.newAgent(e.agent_address, e.agent_class, e.session_id, new Map(Object.entries(e.op_codes)), e.last_beat_ms, nowMs);
      this.agents.set(agent.address, agent);
      if (e.expired) {
        agent.isExpired = true;
        agent.expiredAtMs = e.expired_at_ms ?? e.last_beat_ms;
        for (const name of agent.opCodes.keys()) agent.opCodes.set(name, OpCode.EXPIRED);
        expired.push(agent);
      } else {
        this.timers.schedule(agent, agent.deadlineMs, nowMs);
      }
      restored++;
    }
    expired.sort((a, b) => (a.expiredAtMs ?? 0) - (b.expiredAtMs ?? 0));
    for (const agent of expired) {
      this.expiredAgents.add(agent);
      this.scheduleForget(agent, nowMs);
    }
    this.logger.info({ restored, skipped }, 'registry state restored');
    return { ok: true, restored, skipped };
  }

  /** Until `resumeExpiry()`, no live agent expires (this process cannot hear heartbeats now). */
  pauseExpiry(): void {
    if (this.isExpiryPaused || this.isClosed) return;
    this.isExpiryPaused = true;
    this.logger.info({ agents: this.agents.size - this.expiredAgents.size }, 'expiry paused: heartbeats cannot be heard');
  }

  /** Expiry goes on; every live agent gets a full timeout from now to be heard again. */
  resumeExpiry(): void {
    if (!this.isExpiryPaused || this.isClosed) return;
    this.isExpiryPaused = false;
    const nowMs = this.clock.nowMs();
    for (const agent of this.agents.values()) {
      if (agent.isExpired) continue;
      agent.deadlineMs = Math.max(agent.deadlineMs, expiryDeadlineMs(nowMs, this.agentTimeoutMs));
      this.timers.schedule(agent, agent.deadlineMs, nowMs);
    }
    this.logger.info({ agents: this.agents.size - this.expiredAgents.size }, 'expiry resumed');
  }

  /** Stops every timer; later heartbeats are ignored. Records and `snapshot()` stay available. */
  close(): void {
    this.isClosed = true;
    for (const agent of this.agents.values()) {
      this.timers.clear(agent);
      this.timers.cancelConfirm(agent);
    }
    this.drops.close();
    this.fieldWarnings.close();
    this.lifecycleLog.close();
  }

  // -------------------------------------------------------------------------------------------

  private accept(beat: ParsedHeartbeat): boolean {
    const nowMs = this.clock.nowMs();
    const agent = this.agents.get(beat.agentAddress);
    if (agent === undefined) return this.admit(beat, nowMs);
    agent.lastBeatMs = nowMs;
    agent.deadlineMs = expiryDeadlineMs(nowMs, this.agentTimeoutMs);
    this.timers.schedule(agent, agent.deadlineMs, nowMs);
    const isRestart = isNewSession(agent.sessionId, beat.sessionId);
    agent.sessionId ??= beat.sessionId;
    agent.agentClass ??= beat.agentClass;
    if (isRestart) {
      this.restart(agent, beat, nowMs);
    } else if (agent.isExpired) {
      this.recover(agent, beat, nowMs);
    } else if (beat.opCodes !== null) {
      this.updateOpCodes(agent, beat.opCodes, nowMs);
    }
    return true;
  }

  private admit(beat: ParsedHeartbeat, nowMs: number): boolean {
    if (this.agents.size >= this.maxAgents && !this.evictLongestExpired(nowMs)) {
      this.drops.note(TRACKER_FULL, { agent_address: beat.agentAddress, max_agents: this.maxAgents });
      return false;
    }
    const opCodes = new Map<string, number>();
    if (beat.opCodes !== null) for (const name in beat.opCodes) opCodes.set(name, beat.opCodes[name] as number);
    const agent = this.newAgent(beat.agentAddress, beat.agentClass, beat.sessionId, opCodes, nowMs, nowMs);
    this.agents.set(agent.address, agent);
    this.timers.schedule(agent, agent.deadlineMs, nowMs);
    this.lifecycleLog.note('agent appeared', { agent_address: agent.address, peer_class: agent.agentClass });
    this.emitChange({ event: 'agent.appeared', ...this.eventBase(agent, nowMs), record: toRecord(agent) });
    return true;
  }

  private newAgent(
    address: string,
    agentClass: string | null,
    sessionId: string | null,
    opCodes: Map<string, number>,
    lastBeatMs: number,
    nowMs: number,
  ): TrackedAgent {
    const agent: TrackedAgent = {
      address,
      agentClass,
      sessionId,
      opCodes,
      fields: undefined,
      lastBeatMs,
      deadlineMs: expiryDeadlineMs(nowMs, this.agentTimeoutMs),
      isExpired: false,
      expiredAtMs: null,
      timer: undefined,
      timerDueMs: Infinity,
      cancelConfirm: undefined,
      fire: () => this.onTimer(agent),
      confirm: () => this.onConfirm(agent),
    };
    return agent;
  }

  /** Same process, still live: the heartbeat's op codes replace the stored ones. */
  private updateOpCodes(agent: TrackedAgent, incoming: Readonly<Record<string, number>>, nowMs: number): void {
    const changes = applyOpCodes(agent, incoming);
    if (changes === undefined) return;
    const record = toRecord(agent);
    for (const [opName, before, after] of changes) {
      this.logger.debug({ agent_address: agent.address, op_name: opName, op_code_before: before, op_code_after: after }, 'agent op changed');
      this.emitChange({
        event: 'agent.op_changed',
        ...this.eventBase(agent, nowMs),
        op_name: opName,
        op_code_before: before,
        op_code_after: after,
        record,
      });
    }
  }

  private recover(agent: TrackedAgent, beat: ParsedHeartbeat, nowMs: number): void {
    const opCodesBefore = opCodesObject(agent.opCodes);
    const timeExpiredBeforeS = (agent.expiredAtMs ?? nowMs) / 1000;
    this.unexpire(agent);
    if (beat.opCodes !== null) replaceOpCodes(agent, beat.opCodes);
    this.lifecycleLog.note('agent recovered', { agent_address: agent.address, peer_class: agent.agentClass });
    this.emitChange({
      event: 'agent.recovered',
      ...this.eventBase(agent, nowMs),
      time_expired_before: timeExpiredBeforeS,
      op_codes_before: opCodesBefore,
      record: toRecord(agent),
    });
  }

  private restart(agent: TrackedAgent, beat: ParsedHeartbeat, nowMs: number): void {
    const opCodesBefore = opCodesObject(agent.opCodes);
    const sessionIdBefore = agent.sessionId as string;
    const wasExpired = agent.isExpired;
    if (wasExpired) this.unexpire(agent);
    agent.sessionId = beat.sessionId;
    if (beat.agentClass !== null) agent.agentClass = beat.agentClass;
    replaceOpCodes(agent, beat.opCodes ?? {});
    this.lifecycleLog.note('agent restarted', { agent_address: agent.address, peer_class: agent.agentClass, session_id: agent.sessionId, was_expired: wasExpired });
    this.emitChange({
      event: 'agent.restarted',
      ...this.eventBase(agent, nowMs),
      session_id_before: sessionIdBefore,
      was_expired: wasExpired,
      op_codes_before: opCodesBefore,
      record: toRecord(agent),
    });
  }

  private unexpire(agent: TrackedAgent): void {
    agent.isExpired = false;
    agent.expiredAtMs = null;
    this.expiredAgents.delete(agent);
  }

  private expire(agent: TrackedAgent, nowMs: number): void {
    const opCodesBefore = opCodesObject(agent.opCodes);
    agent.isExpired = true;
    agent.expiredAtMs = nowMs;
    for (const name of agent.opCodes.keys()) agent.opCodes.set(name, OpCode.EXPIRED);
    this.expiredAgents.add(agent);
    this.scheduleForget(agent, nowMs);
    this.lifecycleLog.note('agent expired', { agent_address: agent.address, peer_class: agent.agentClass, last_beat_ms: agent.lastBeatMs });
    this.emitChange({ event: 'agent.expired', ...this.eventBase(agent, nowMs), op_codes_before: opCodesBefore, record: toRecord(agent) });
  }

  private forget(agent: TrackedAgent, reason: ForgetReason, nowMs: number): void {
    this.timers.clear(agent);
    this.timers.cancelConfirm(agent);
    this.agents.delete(agent.address);
    this.expiredAgents.delete(agent);
    this.lifecycleLog.note('agent forgotten', { agent_address: agent.address, peer_class: agent.agentClass, reason });
    this.emitChange({ event: 'agent.forgotten', ...this.eventBase(agent, nowMs), reason, record: toRecord(agent) });
  }

  private evictLongestExpired(nowMs: number): boolean {
    const oldest = this.expiredAgents.values().next();
    if (oldest.done === true) return false;
    this.forget(oldest.value, 'evicted', nowMs);
    return true;
  }

  // Timers --------------------------------------------------------------------------------------

  /** The deadline passed and the input that was waiting then has been handled: expire, unless a beat came meanwhile. */
  private onConfirm(agent: TrackedAgent): void {
    agent.cancelConfirm = undefined;
    if (this.isClosed || this.agents.get(agent.address) !== agent || agent.isExpired) return;
    try {
      const nowMs = this.clock.nowMs();
      if (this.isExpiryPaused) return;
      if (nowMs < agent.deadlineMs) {
        this.timers.schedule(agent, agent.deadlineMs, nowMs);
        return;
      }
      this.expire(agent, nowMs);
    } catch (err) {
      this.logger.error({ err, agent_address: agent.address }, 'liveness timer failed');
    }
  }

  private scheduleForget(agent: TrackedAgent, nowMs: number): void {
    this.timers.clear(agent);
    if (Number.isFinite(this.retentionMs)) this.timers.schedule(agent, (agent.expiredAtMs ?? nowMs) + this.retentionMs, nowMs);
  }

  private onTimer(agent: TrackedAgent): void {
    agent.timer = undefined;
    if (this.isClosed || this.agents.get(agent.address) !== agent) return;
    try {
      const nowMs = this.clock.nowMs();
      if (!agent.isExpired) {
        // paused: no timer until resumeExpiry() re-arms every live agent
        if (this.isExpiryPaused) return;
        if (nowMs < agent.deadlineMs) this.timers.schedule(agent, agent.deadlineMs, nowMs);
        else this.timers.queueConfirm(agent);
      } else {
        const forgetAtMs = (agent.expiredAtMs ?? nowMs) + this.retentionMs;
        if (nowMs >= forgetAtMs) this.forget(agent, 'retention', nowMs);
        else this.timers.schedule(agent, forgetAtMs, nowMs);
      }
    } catch (err) {
      this.logger.error({ err, agent_address: agent.address }, 'liveness timer failed');
    }
  }

  // Output --------------------------------------------------------------------------------------

  private eventBase(agent: TrackedAgent, nowMs: number) {
    return { agent_address: agent.address, agent_class: agent.agentClass, time: nowMs / 1000, session_id: agent.sessionId };
  }

  /** Listeners run synchronously; one that throws is logged and does not reach the caller. */
  private emitChange(event: AgentStatusEvent): void {
    try {
      this.emit('change', event);
    } catch (err) {
      this.logger.error({ err, event: event.event, agent_address: event.agent_address }, 'change listener failed');
    }
  }
}

