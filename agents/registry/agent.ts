import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import { systemClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import type { Feed } from '../../lib/feeds/feed.js';
import type { OpResult } from '../../lib/ops/op-spec.js';
import type { OpSession } from '../../lib/ops/op-session.js';
import type { WireAgentRecord } from '../../lib/registry/agent-record.js';
import { encodeAgentStatusEvent, type AgentStatusEvent } from '../../lib/registry/agent-status-event.js';
import { afterCheckPhase, type AfterPendingInput } from '../../lib/registry/after-pending-input.js';
import type { RegistryFigures } from '../../lib/registry/registry-metrics.js';
import { LivenessTracker } from '../../lib/registry/liveness-tracker.js';
import { RouterBarrier } from '../../lib/registry/router-barrier.js';
import { WampFloat } from '../../lib/wamp/float.js';
import type { RegistryArgs } from './config.js';

/** The parts of AgentRuntime the registry uses (a fake stands in for it in unit tests). */
export type RegistryHost = Pick<AgentRuntime, 'address' | 'logger' | 'registerTask' | 'registerProcess' | 'registerFeed' | 'subscribe' | 'publish' | 'call' | 'on'>;

export interface RegistryAgentOptions {
  /** `hub.address_root`: heartbeats are heard on `{root}..feeds.heartbeat`. */
  addressRoot: string;
  args: RegistryArgs;
  /** The site uses agent identities: a heartbeat counts only from the identity of its address. */
  requirePublisherIdentity?: boolean;
  clock?: Clock;
  /** How a due expiry is confirmed (after-pending-input.ts); default a round trip through the router to itself. */
  afterPendingInput?: AfterPendingInput;
}

/** `main`'s session.data is rebuilt at most this often while nothing changes (only `last_updated` moves). */
export const SESSION_DATA_MAX_AGE_MS = 1000;
/**
 * At most this many `agent_operations` publications a second (changes and republishes share it),
 * in bursts of at most OPERATIONS_BURST. OCS republishes every agent in one burst; at 10k agents
 * that burst of 10k publications holds up the router's delivery of heartbeats for seconds. A
 * paced queue of agents (each at most once in it) keeps the router's load even: a republish of
 * 20k agents takes 20 s of the 30 s period, and a change goes out at once unless a republish is
 * draining.
 */
export const OPERATIONS_RATE_PER_S = 1000;
const OPERATIONS_BURST = 100;
const OPERATIONS_TICK_MS = 10;
/** A change is written to the state file within this long. */
const STATE_CHECK_INTERVAL_MS = 1000;

const MainParamsSchema = z.object({ test_mode: z.boolean().default(false) });

/** OCS's `agent_operations` feed parameters (ocs-protocol §3.3). */
const OPERATIONS_AGG_PARAMS = { frame_length: 60 };

/** OCS `Block.encoded()` of a single sample: `{block_name, data: {field: [v]}, timestamps: [t]}`. */
interface OperationBlock {
  block_name: string;
  data: Record<string, number[]>;
  timestamps: WampFloat[];
}

/**
 * The Registry, a drop-in for OCS's RegistryAgent (ocs-protocol §3.3): process `main` (startup,
 * param `test_mode`), task `register_agent` (deprecated no-op), per-agent records in `main`'s
 * session.data and the recorded feed `agent_operations`, from a wildcard subscription to every
 * heartbeat. On top of OCS (the liveness logic is lib/registry/liveness-tracker.ts):
 *
 * - expiry exactly `--agent-timeout` after the last heartbeat, from per-agent deadline timers,
 *   confirmed after the input already received has been handled, and, when the registry was
 *   found behind, by a round trip through the router to itself, so a heartbeat still queued
 *   between the router and the registry when the deadline passes keeps its agent live (a
 *   registry far behind expires late, never wrongly: lib/registry/after-pending-input.ts,
 *   router-barrier.ts); while the registry is
 *   not connected to the router nobody expires, and after it (re)joins every live agent has a
 *   full timeout to be heard;
 * - every change (appeared, expired, recovered, restarted, op code changed, forgotten) is
 *   published at once on the non-recorded feed `agent_status` (agent-status-event.ts), and the
 *   agent's op codes at once on `agent_operations`;
 * - restarts are recognised by the heartbeat feed's `session_id`; expired agents are forgotten
 *   after `--retention`; at most `--max-agents` are tracked; junk heartbeats are dropped with a
 *   rate-limited warning;
 * - `--state-file` keeps the table across registry restarts.
 *
 * Tracking, expiry and the change publications run from the first join, whether `main` runs or
 * not (as OCS's heartbeat handler). `main` serves the table in its session.data and republishes
 * every agent's op codes every `--wait-time` seconds; when it stops, its session.data keeps the
 * table as it was.
 *
 * session.data at 10k agents. Rebuilding the table on every heartbeat would cost O(N) per beat,
 * so `main`'s session.data is a lazy view: it is built only when a client reads the session
 * (status, wait, get_api), and reused for up to SESSION_DATA_MAX_AGE_MS unless a change event
 * came in between. So a reader sees every change at once and `last_updated` at most 1 s old,
 * and a registry nobody reads spends nothing on it.
 *
 * agent_operations. Each publication carries one agent's blocks (one block per op, as OCS), with
 * integer op codes. The blocks are encoded here rather than through `Feed.publishMessage`, which
 * keeps per-block state for every block name it has seen: with agents coming and going (or a
 * peer inventing addresses) that state would grow without bound. Publications go through a paced
 * queue (OPERATIONS_RATE_PER_S), so a republish of every agent never floods the router.
 */
export class RegistryAgent {
  readonly tracker: LivenessTracker;
  private readonly barrier: RouterBarrier;
  private readonly host: RegistryHost;
  private readonly clock: Clock;
  private readonly args: RegistryArgs;
  private readonly heartbeatTopic: string;
  private heartbeatsAccepted = 0;
  private readonly eventCounts: Record<string, number> = {};
  private readonly statusFeed: Feed;
  private readonly operationsFeed: Feed;
  private readonly operationsFeedEncoded: Record<string, unknown>;
  /** Agents whose op codes are to be published (see OPERATIONS_RATE_PER_S), each once. */
  private readonly pendingOperations = new Set<string>();
  private isDrainQueued = false;
  private drainTimer: TimerHandle | undefined;
  private operationTokens = OPERATIONS_BURST;
  private tokensAtMs: number;
  private mainSession: OpSession | undefined;
  private sessionDataCache: { builtAtMs: number; data: Record<string, WireAgentRecord> } | undefined;
  private readonly sessionDataView: Record<string, unknown>;
  private stateTimer: TimerHandle | undefined;
  private hasChangedSinceSave = false;
  private lastSaveAtMs = 0;
  private saving: Promise<void> | undefined;
  private isClosed = false;

  constructor(host: RegistryHost, options: RegistryAgentOptions) {
    this.host = host;
    this.clock = options.clock ?? systemClock;
    this.args = options.args;
    this.tokensAtMs = this.clock.nowMs();
    this.heartbeatTopic = `${options.addressRoot}..feeds.heartbeat`;
    this.barrier = new RouterBarrier({
      roundTrip: () => host.call(host.address, ['get_agent_class']),
      retryAfterMs: options.args.agent_timeout * 1000,
      clock: this.clock,
      logger: host.logger,
    });
    this.tracker = new LivenessTracker({
      addressRoot: options.addressRoot,
      clock: this.clock,
      agentTimeoutMs: options.args.agent_timeout * 1000,
      retentionMs: options.args.retention * 1000,
      maxAgents: options.args.max_agents,
      requirePublisherIdentity: options.requirePublisherIdentity ?? false,
      logger: host.logger,
      afterPendingInput: options.afterPendingInput ?? afterCheckPhase({ clock: this.clock, ifBehind: this.barrier.afterPendingInput }),
    });
    this.tracker.on('change', (event) => this.onChange(event));
    // no verdicts while the registry cannot hear: from start-up to the join, and while reconnecting
    this.tracker.pauseExpiry();
    host.on('joined', () => this.tracker.resumeExpiry());
    host.on('left', () => this.tracker.pauseExpiry());
    this.sessionDataView = { toJSON: () => this.currentSessionData() };

    this.operationsFeed = host.registerFeed('agent_operations', { record: true, aggParams: OPERATIONS_AGG_PARAMS, bufferTimeS: 0 });
    this.operationsFeedEncoded = this.operationsFeed.encoded() as unknown as Record<string, unknown>;
    this.statusFeed = host.registerFeed('agent_status', { record: false });

    host.registerProcess('main', {
      start: (session, params) => this.main(session, params),
      stop: (session) => this.stopMain(session),
      params: MainParamsSchema,
      startup: true,
      blocking: false,
      docstring:
        'main(test_mode=False)\n\n**Process** - Main run process for the Registry agent. It keeps the\ntable of every agent heard on the heartbeat feeds in session.data and\nrepublishes their op codes on the agent_operations feed every --wait-time\nseconds.\n\nParameters:\n    test_mode (bool, optional): Run the main Process loop only once.\n        This is meant only for testing. Default is False.\n\nNotes:\n    session.data maps each agent address to its record, e.g.\n    {"observatory.fake-data1": {"expired": false, "time_expired": null,\n     "last_updated": 1669925713.408, "op_codes": {"acq": 3},\n     "agent_class": "FakeDataAgent", "agent_address": "observatory.fake-data1"}}',
    });
    host.registerTask('register_agent', {
      fn: () => this.registerAgent(),
      blocking: false,
      docstring: 'register_agent()\n\n**Task** - Deprecated; does nothing. Agents are registered by their heartbeats.',
    });
  }

  /**
   * Restores `--state-file` (if any) and subscribes to every heartbeat (the runtime subscribes at
   * each join). Call before `runtime.run()`.
   */
  async start(): Promise<void> {
    if (this.args.state_file !== undefined) {
      await this.restoreState(this.args.state_file);
      this.lastSaveAtMs = this.clock.nowMs();
      this.stateTimer = this.clock.setInterval(() => this.checkState(), STATE_CHECK_INTERVAL_MS);
      this.stateTimer.unref?.();
    }
    await this.host.subscribe(
      this.heartbeatTopic,
      (args, _kwargs, details) => {
        if (this.tracker.onHeartbeat(args, details)) this.heartbeatsAccepted++;
      },
      { match: 'wildcard' },
    );
    this.host.logger.info(
      {
        heartbeat_topic: this.heartbeatTopic,
        agent_timeout_s: this.args.agent_timeout,
        wait_time_s: this.args.wait_time,
        retention_s: this.args.retention,
        max_agents: this.args.max_agents,
        state_file: this.args.state_file ?? null,
      },
      'registry tracking heartbeats',
    );
  }

  /** Stops every timer and writes the state file one last time. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.clock.clearInterval(this.stateTimer);
    this.stateTimer = undefined;
    this.clock.clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.tracker.close();
    this.barrier.close();
    await this.saving;
    if (this.args.state_file !== undefined) await this.saveState(this.args.state_file);
  }

  // Ops -----------------------------------------------------------------------------------------

  private async main(session: OpSession, params: z.infer<typeof MainParamsSchema>): Promise<OpResult> {
    this.mainSession = session;
    this.sessionDataCache = undefined;
    session.data = this.sessionDataView;
    session.setStatus('running');
    try {
      do {
        this.republishAll();
        if (params.test_mode) break;
      } while (await session.sleep(this.args.wait_time * 1000));
    } finally {
      this.mainSession = undefined;
      session.data = this.tracker.sessionData();
    }
    return [true, 'Stopped registry main process'];
  }

  private stopMain(session: OpSession): OpResult {
    if (this.mainSession !== session || session.status === 'stopping' || session.status === 'done') {
      return [false, 'main process not currently running'];
    }
    session.setStatus('stopping');
    return [true, 'requested to stop main process'];
  }

  private registerAgent(): OpResult {
    this.host.logger.warn({}, "the register_agent task is deprecated; an agent is using an out of date version of ocs or socs");
    return [true, "'register_agent' is deprecated"];
  }

  // Publications --------------------------------------------------------------------------------

  /** What the metrics read (registry-metrics.ts). */
  figures(): RegistryFigures {
    const tracker = this.tracker;
    const accepted = (): number => this.heartbeatsAccepted;
    return {
      stats: () => tracker.stats(),
      get heartbeats() {
        return accepted();
      },
      events: this.eventCounts,
    };
  }

  private onChange(event: AgentStatusEvent): void {
    this.eventCounts[event.event] = (this.eventCounts[event.event] ?? 0) + 1;
    this.sessionDataCache = undefined;
    this.hasChangedSinceSave = true;
    this.statusFeed.publishMessage(encodeAgentStatusEvent(event));
    if (event.event !== 'agent.forgotten') this.queueOperations(event.agent_address);
  }

  private queueOperations(address: string): void {
    this.pendingOperations.add(address);
    if (this.isDrainQueued || this.drainTimer !== undefined) return;
    this.isDrainQueued = true;
    queueMicrotask(() => {
      this.isDrainQueued = false;
      this.drainOperations();
    });
  }

  /** Every agent's op codes (OCS's periodic republish), through the paced queue. */
  private republishAll(): void {
    for (const address of this.tracker.addresses()) this.queueOperations(address);
  }

  /** Publishes queued agents while the token bucket allows, then comes back in OPERATIONS_TICK_MS. */
  private drainOperations(): void {
    if (this.isClosed) return;
    const nowMs = this.clock.nowMs();
    this.operationTokens = Math.min(OPERATIONS_BURST, this.operationTokens + (Math.max(0, nowMs - this.tokensAtMs) * OPERATIONS_RATE_PER_S) / 1000);
    this.tokensAtMs = nowMs;
    const nowS = nowMs / 1000;
    for (const address of this.pendingOperations) {
      if (this.operationTokens < 1) break;
      this.pendingOperations.delete(address);
      this.operationTokens--;
      this.publishOperations(address, nowS);
    }
    if (this.pendingOperations.size > 0 && this.drainTimer === undefined) {
      this.drainTimer = this.clock.setTimeout(() => {
        this.drainTimer = undefined;
        this.drainOperations();
      }, OPERATIONS_TICK_MS);
    }
  }

  private publishOperations(address: string, nowS: number): void {
    const blocks = this.tracker.operationBlocks(nowS, address);
    if (blocks.length === 0) return;
    const message: Record<string, OperationBlock> = {};
    for (const block of blocks) {
      const data: Record<string, number[]> = {};
      for (const field in block.data) data[field] = [Number(block.data[field])];
      message[block.block_name] = { block_name: block.block_name, data, timestamps: [new WampFloat(block.timestamp)] };
    }
    this.host.publish(this.operationsFeed.address, [[message, this.operationsFeedEncoded]]);
  }

  private currentSessionData(): Record<string, WireAgentRecord> {
    const nowMs = this.clock.nowMs();
    const cache = this.sessionDataCache;
    if (cache !== undefined && nowMs - cache.builtAtMs < SESSION_DATA_MAX_AGE_MS && nowMs >= cache.builtAtMs) return cache.data;
    const data = this.tracker.sessionData();
    this.sessionDataCache = { builtAtMs: nowMs, data };
    return data;
  }

  // State file ----------------------------------------------------------------------------------

  private async restoreState(path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.host.logger.info({ state_file: path }, 'no registry state file yet');
      else this.host.logger.warn({ state_file: path, err }, 'registry state file unreadable; starting empty');
      return;
    }
    let snapshot: unknown;
    try {
      snapshot = JSON.parse(text);
    } catch (err) {
      this.host.logger.warn({ state_file: path, err }, 'registry state file is not JSON; starting empty');
      return;
    }
    this.tracker.restore(snapshot);
  }

  private checkState(): void {
    const path = this.args.state_file;
    if (path === undefined || this.saving !== undefined || this.isClosed) return;
    const isDue = this.hasChangedSinceSave || this.clock.nowMs() - this.lastSaveAtMs >= this.args.state_save_interval * 1000;
    if (!isDue) return;
    this.saving = this.saveState(path).finally(() => {
      this.saving = undefined;
    });
  }

  /** Writes the snapshot atomically (temp file, then rename). Failures are logged, never thrown. */
  private async saveState(path: string): Promise<void> {
    this.hasChangedSinceSave = false;
    this.lastSaveAtMs = this.clock.nowMs();
    const temp = `${path}.tmp`;
    try {
      const text = JSON.stringify(this.tracker.snapshot());
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temp, text);
      await rename(temp, path);
    } catch (err) {
      this.host.logger.warn({ state_file: path, err }, 'registry state not saved');
    }
  }
}
