/**
 * A local copy of the Registry's table, for `ocs client scan --use-registry` and the supervisor.
 * It reads `main`'s session.data once (`{registry}.ops` `status main`) and then follows the
 * `{registry}.feeds.agent_status` events (agent-status-event.ts). WAMP stays outside: the caller
 * injects `subscribe` and `call`, or uses `RegistryWatcher.fromSession(session, ...)`.
 *
 * Ordering. The watcher subscribes before it reads the table and holds the events that arrive
 * meanwhile; once the table is read it replays them. An event older than the record it would
 * replace (event `time` < the record's `max(last_updated, time_expired)`) is ignored, so replays
 * and late deliveries never roll a record back.
 *
 * The table holds each agent's record as of the latest change seen: `last_updated` moves only
 * with events (the Registry does not publish every heartbeat), or on `refresh()`.
 *
 * A Registry that has just joined answers with `main` still `starting` (its session.data is not the
 * table yet, it becomes so when `main` runs, a timer tick later). The watcher asks again every
 * STARTING_RETRY_MS until `main` runs, for at most STARTING_WAIT_MS; then it takes what it got.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../clock.js';
import { InternalError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { AutobahnSession } from '../wamp/autobahn.js';
import { AgentRecordSchema, type AgentRecord } from './agent-record.js';
import { AgentStatusEventSchema, type AgentStatusEvent } from './agent-status-event.js';
import { RateLimitedLog } from '../rate-limited-log.js';

/** How often the table is asked for again while the Registry's `main` is still starting. */
export const STARTING_RETRY_MS = 50;
/** How long the watcher waits for a starting `main` before it takes the table as it is. */
export const STARTING_WAIT_MS = 5_000;

/** Stops a subscription made by `subscribe`. */
export type Unsubscribe = () => unknown;

export interface RegistryWatcherOptions {
  /** The Registry's agent address, e.g. `observatory.registry`. */
  registryAddress: string;
  /** Subscribes `handler` to `topic`; `handler` gets the EVENT's positional arguments. */
  subscribe(topic: string, handler: (args: unknown[] | undefined) => void): Promise<Unsubscribe>;
  /** Calls `procedure` and resolves with its result (one positional result unwrapped, as autobahn-js does). */
  call(procedure: string, args: unknown[], kwargs?: Record<string, unknown>): Promise<unknown>;
  clock?: Clock;
  logger?: Logger;
}

export interface RegistryWatcherEvents {
  /** A change applied to the table. */
  change: [event: AgentStatusEvent];
  /** The table was (re)read from the Registry. */
  synced: [records: AgentRecord[]];
}

export class RegistryWatcher extends EventEmitter<RegistryWatcherEvents> {
  private table = new Map<string, AgentRecord>();
  /** Events held while the table is being read. */
  private held: AgentStatusEvent[] | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly drops: RateLimitedLog;

  constructor(private readonly options: RegistryWatcherOptions) {
    super();
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? systemClock;
    this.drops = new RateLimitedLog({ clock: this.clock, logger: this.logger, message: 'registry event dropped' });
  }

  /** Wires the watcher to an autobahn session. */
  static fromSession(
    session: Pick<AutobahnSession, 'subscribe' | 'unsubscribe' | 'call'>,
    options: Omit<RegistryWatcherOptions, 'subscribe' | 'call'>,
  ): RegistryWatcher {
    return new RegistryWatcher({
      ...options,
      subscribe: async (topic, handler) => {
        const subscription = await session.subscribe(topic, (args) => handler(args));
        return () => session.unsubscribe(subscription);
      },
      call: (procedure, args, kwargs) => session.call(procedure, args, kwargs),
    });
  }

  get statusTopic(): string {
    return `${this.options.registryAddress}.feeds.agent_status`;
  }

  get size(): number {
    return this.table.size;
  }

  /** Subscribes to the events, then reads the table. Rejects if either fails. */
  async start(): Promise<void> {
    if (this.unsubscribe === undefined) {
      this.held = [];
      this.unsubscribe = await this.options.subscribe(this.statusTopic, (args) => this.onEvent(args));
    }
    await this.refresh();
  }

  /** Re-reads the whole table from the Registry (e.g. after a reconnect). */
  refresh(): Promise<void> {
    this.refreshing ??= this.readTable().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Unsubscribes. The table stays readable. */
  async stop(): Promise<void> {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    this.held = undefined;
    this.drops.close();
    if (unsubscribe !== undefined) await unsubscribe();
  }

  get(agentAddress: string): AgentRecord | undefined {
    return this.table.get(agentAddress);
  }

  list(): AgentRecord[] {
    return Array.from(this.table.values());
  }

  private async readTable(): Promise<void> {
    this.held ??= [];
    let records: AgentRecord[];
    try {
      const giveUpAtMs = this.clock.nowMs() + STARTING_WAIT_MS;
      let status = await this.readStatus();
      while (status.isStarting && this.clock.nowMs() < giveUpAtMs) {
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, STARTING_RETRY_MS));
        status = await this.readStatus();
      }
      if (status.isStarting) this.logger.warn({ registry: this.options.registryAddress, waited_ms: STARTING_WAIT_MS }, "registry main still starting; its table may be incomplete");
      records = status.records;
    } catch (err) {
      this.releaseHeld();
      throw err;
    }
    this.table = new Map(records.map((r) => [r.agent_address, r]));
    this.releaseHeld();
    this.emit('synced', this.list());
  }

  private releaseHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) this.apply(event);
  }

  private async readStatus(): Promise<{ records: AgentRecord[]; isStarting: boolean }> {
    const reply = await this.options.call(`${this.options.registryAddress}.ops`, ['status', 'main'], {});
    return this.recordsFromStatus(reply);
  }

  /** `[code, message, session]` → the records in `session.data`, and whether `main` is still starting. */
  private recordsFromStatus(reply: unknown): { records: AgentRecord[]; isStarting: boolean } {
    const value = isResultObject(reply) ? reply.args[0] : reply;
    if (!Array.isArray(value) || value.length !== 3) {
      throw new InternalError(`registry ${this.options.registryAddress}: malformed status reply`, { details: { registry: this.options.registryAddress } });
    }
    const session: unknown = value[2];
    const isStarting = isObject(session) && session['status'] === 'starting';
    const data = isObject(session) ? session['data'] : undefined;
    if (!isObject(data)) return { records: [], isStarting };
    const records: AgentRecord[] = [];
    for (const [address, raw] of Object.entries(data)) {
      const parsed = AgentRecordSchema.safeParse(raw);
      if (parsed.success && parsed.data.agent_address === address) records.push(parsed.data);
      else this.drops.note('bad_record', { agent_address: address });
    }
    return { records, isStarting };
  }

  private onEvent(args: unknown[] | undefined): void {
    try {
      const first = args?.[0];
      const message = Array.isArray(first) ? first[0] : first;
      const parsed = AgentStatusEventSchema.safeParse(message);
      if (!parsed.success) {
        this.drops.note('bad_event', { detail: parsed.error.issues[0]?.message });
        return;
      }
      const event = parsed.data as AgentStatusEvent;
      if (this.held !== undefined) this.held.push(event);
      else this.apply(event);
    } catch (err) {
      this.logger.error({ err }, 'registry event handling failed');
    }
  }

  private apply(event: AgentStatusEvent): void {
    const current = this.table.get(event.agent_address);
    if (current !== undefined && event.time < Math.max(current.last_updated, current.time_expired ?? -Infinity)) return;
    if (event.event === 'agent.forgotten') {
      if (current === undefined) return;
      this.table.delete(event.agent_address);
    } else {
      this.table.set(event.agent_address, event.record);
    }
    try {
      this.emit('change', event);
    } catch (err) {
      this.logger.error({ err, event: event.event, agent_address: event.agent_address }, 'change listener failed');
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isResultObject(v: unknown): v is { args: unknown[] } {
  return isObject(v) && Array.isArray(v['args']);
}
