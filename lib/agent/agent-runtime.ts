import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { WampConnection, type WampAuth } from '../wamp/connection.js';
import type { AutobahnSerializer, AutobahnSession, AutobahnSubscription, EventHandler } from '../wamp/autobahn.js';
import { isAutobahnError } from '../wamp/autobahn.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { WAMP_ERRORS } from '../errors.js';
import type { Logger } from '../log.js';
import { OpTable } from '../ops/op-table.js';
import type { TaskSpec, ProcessSpec } from '../ops/op-spec.js';
import { parseOpsCall, parseManagementCall } from '../ops/parse-ops-call.js';
import { Feed } from '../feeds/feed.js';
import type { AccessPolicy } from '../site-config/access-policy.js';
import { wrapProcedure, type Procedure } from './callee.js';
import { floatManagementReply, floatOpsReply } from './wire-floats.js';
import { Heartbeat, HEARTBEAT_INTERVAL_MS } from './heartbeat.js';
import { DirectorLink } from './director-link.js';

export interface AgentRuntimeOptions {
  agentClass: string;
  instanceId: string;
  addressRoot: string;
  wampUrl: string;
  realm: string;
  /** `none` (default), `override:pw2,pw3` or `director:<id>` (ocs-protocol §7.1). */
  accessPolicy?: AccessPolicy | string;
  /** Seconds to keep trying to reach the router before giving up; 0 = never give up. OCS default 10. */
  crossbarTimeoutS?: number;
  heartbeatIntervalMs?: number;
  /** Router credentials (agent identities: authid = instance id, ticket); default anonymous. */
  auth?: WampAuth;
  serializers?: AutobahnSerializer[];
  logger: Logger;
  clock?: Clock;
}

export interface FeedRegistrationOptions {
  record?: boolean;
  aggParams?: Record<string, unknown>;
  bufferTimeS?: number;
}

interface StandingSubscription {
  topic: string;
  handler: EventHandler;
  options: Record<string, unknown> | undefined;
  current: AutobahnSubscription | undefined;
}

export interface AgentRuntimeEvents {
  joined: [isFirstJoin: boolean];
  left: [];
}

/** Exit codes an agent process ends with. */
export const AGENT_EXIT = { OK: 0, FAILURE: 1, DUPLICATE_INSTANCE: 1, ROUTER_GONE: 1 } as const;

/**
 * One OCS agent: a WAMP session that registers `{address}.ops` and `{address}`, beats once a
 * second on `{address}.feeds.heartbeat`, publishes feeds, re-registers after a reconnect (its
 * operations keep running meanwhile), gives up after `crossbarTimeoutS` without a router, and
 * stops its operations before leaving on SIGINT/SIGTERM.
 */
export class AgentRuntime extends EventEmitter<AgentRuntimeEvents> {
  readonly address: string;
  readonly ops: OpTable;
  readonly logger: Logger;
  /** The agent session id feeds carry: `str(time.time())` at construction, as OCS. */
  readonly agentSessionId: string;

  private readonly clock: Clock;
  private readonly feeds = new Map<string, Feed>();
  private readonly subscriptions = new Map<string, StandingSubscription>();
  /** Procedures of the agent's own besides `.ops` and the management one, registered at every join. */
  private readonly procedures = new Map<string, Procedure>();
  private readonly heartbeat: Heartbeat;
  private connection: WampConnection | undefined;
  private session: AutobahnSession | undefined;
  private giveUpTimer: TimerHandle | undefined;
  private finish: ((code: number) => void) | undefined;
  private isShuttingDown = false;
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];

  constructor(readonly options: AgentRuntimeOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.address = `${options.addressRoot}.${options.instanceId}`;
    this.agentSessionId = String(this.clock.nowMs() / 1000);
    this.logger = options.logger.child({ agent_class: options.agentClass, instance_id: options.instanceId, address: this.address });
    this.ops = new OpTable({
      clock: this.clock,
      logger: this.logger,
      accessPolicy: options.accessPolicy ?? 'none',
      agentClass: options.agentClass,
      instanceId: options.instanceId,
      describeAgent: () => ({
        agent_class: options.agentClass,
        instance_hostname: hostname(),
        instance_pid: process.pid,
        feeds: [...this.feeds.values()].map((f) => [f.feedName, f.encoded()] as [string, Record<string, unknown>]),
      }),
    });
    if (this.ops.access.directorId !== null) {
      new DirectorLink({ host: this, access: this.ops.access, addressRoot: options.addressRoot, instanceId: options.instanceId, agentClass: options.agentClass, clock: this.clock, logger: this.logger });
    }
    this.heartbeat = new Heartbeat({
      clock: this.clock,
      intervalMs: options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS,
      beat: () => this.feeds.get('heartbeat')?.publishMessage(this.ops.opCodes()),
    });
  }

  registerTask<P extends z.ZodObject>(name: string, spec: TaskSpec<P>): void {
    this.ops.registerTask(name, spec);
  }

  registerProcess<P extends z.ZodObject>(name: string, spec: ProcessSpec<P>): void {
    this.ops.registerProcess(name, spec);
  }

  /** Registers a feed; its topic is `{address}.feeds.{name}`. */
  registerFeed(name: string, options: FeedRegistrationOptions = {}): Feed {
    const existing = this.feeds.get(name);
    if (existing) return existing;
    const feed = new Feed({
      agentAddress: this.address,
      feedName: name,
      agentClass: this.options.agentClass,
      agentSessionId: this.agentSessionId,
      record: options.record ?? false,
      aggParams: options.aggParams ?? {},
      bufferTimeS: options.bufferTimeS ?? 0,
      clock: this.clock,
      publish: (topic, args) => this.publish(topic, args),
    });
    this.feeds.set(name, feed);
    return feed;
  }

  feed(name: string): Feed {
    const feed = this.feeds.get(name);
    if (!feed) throw new Error(`no feed called "${name}"`);
    return feed;
  }

  publishToFeed(name: string, message: unknown): void {
    this.feed(name).publishMessage(message);
  }

  /** Turns the heartbeat on or off (FakeDataAgent's `set_heartbeat`). */
  setHeartbeat(isOn: boolean): void {
    this.heartbeat.isEnabled = isOn;
  }

  get isHeartbeatOn(): boolean {
    return this.heartbeat.isEnabled;
  }

  get isJoined(): boolean {
    return this.session?.isOpen === true;
  }

  /** Subscribes now (if joined) and again after every reconnect. */
  async subscribe(topic: string, handler: EventHandler, options?: Record<string, unknown>): Promise<void> {
    const key = `${topic}\u0000${JSON.stringify(options ?? {})}`;
    if (this.subscriptions.has(key)) return;
    const sub: StandingSubscription = { topic, handler, options, current: undefined };
    this.subscriptions.set(key, sub);
    if (this.session) await this.subscribeOne(this.session, sub);
  }

  /**
   * Registers `{address}.{name}` (e.g. the Access Director's `agent_poll`) now if joined, and
   * again after every reconnect. The handler's value is the single result, as for `.ops`.
   */
  async registerProcedure(name: string, fn: Procedure): Promise<void> {
    this.procedures.set(name, fn);
    if (this.session) await this.registerOwn(this.session, name, fn);
  }

  private async registerOwn(session: AutobahnSession, name: string, fn: Procedure): Promise<void> {
    const uri = `${this.address}.${name}`;
    try {
      await session.register(uri, wrapProcedure(uri, fn, this.logger));
    } catch (err) {
      this.logger.error({ procedure: uri, err }, 'registering a procedure failed');
    }
  }

  /** Calls a procedure as this agent's session (e.g. another agent's `.ops`). */
  async call<T = unknown>(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Promise<T> {
    if (!this.session) throw new Error(`not connected to the router; cannot call ${procedure}`);
    return (await this.session.call<T>(procedure, args, kwargs, options)) as T;
  }

  publish(topic: string, args: unknown[], kwargs?: Record<string, unknown>): void {
    const session = this.session;
    if (!session?.isOpen) {
      this.logger.debug({ topic }, 'publish dropped: not joined');
      return;
    }
    try {
      session.publish(topic, args, kwargs);
    } catch (err) {
      this.logger.warn({ topic, err }, 'publish failed');
    }
  }

  /**
   * Connects and serves until shutdown. Resolves with the process exit code: 0 after a
   * SIGINT/SIGTERM or `shutdown()`, 1 when the instance is already registered elsewhere or the
   * router stayed away longer than `crossbarTimeoutS`.
   */
  run(options: { shouldHandleSignals?: boolean } = {}): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.finish = (code) => {
        this.finish = undefined;
        this.cleanup();
        resolve(code);
      };
    });
    if (options.shouldHandleSignals ?? true) this.installSignalHandlers();
    const connection = new WampConnection({
      url: this.options.wampUrl,
      realm: this.options.realm,
      shouldReconnect: true,
      shouldRetryIfUnreachable: true,
      initialRetryDelayS: 1,
      maxRetryDelayS: 30,
      logger: this.logger,
      ...(this.options.serializers ? { serializers: this.options.serializers } : {}),
      ...(this.options.auth ? { auth: this.options.auth } : {}),
    });
    this.connection = connection;
    connection.on('join', (session, isFirstJoin) => {
      void this.onJoin(session, isFirstJoin);
    });
    connection.on('leave', (reason, details) => this.onLeave(reason, details.willRetry));
    // said once per absence, at its first failed attempt, not at every retry
    let hasSaidUnreachable = false;
    connection.on('join', () => (hasSaidUnreachable = false));
    connection.on('unreachable', (reason) => {
      if (hasSaidUnreachable || this.isShuttingDown) return;
      hasSaidUnreachable = true;
      const timeoutS = this.options.crossbarTimeoutS ?? 10;
      this.logger.warn({ url: this.options.wampUrl, reason }, `router ${this.options.wampUrl} unreachable, retrying${timeoutS > 0 ? ` for ${timeoutS} s` : ''}`);
    });
    connection.on('closed', (reason) => {
      if (!this.isShuttingDown) {
        this.logger.error({ reason }, 'connection closed for good');
        void this.stopOpsAndFinish(AGENT_EXIT.ROUTER_GONE);
      }
    });
    this.armGiveUpTimer();
    connection.open().catch((err: unknown) => {
      this.logger.fatal({ err }, 'cannot reach the router');
      void this.stopOpsAndFinish(AGENT_EXIT.ROUTER_GONE);
    });
    return done;
  }

  /** Stops every running operation, leaves the realm and resolves `run()` with 0. */
  async shutdown(reason = 'shutdown requested'): Promise<void> {
    if (this.isShuttingDown) return;
    this.isShuttingDown = true;
    this.logger.info({ reason }, 'stopping');
    await this.ops.stopAll();
    this.heartbeat.stop();
    await this.connection?.close('wamp.close.normal');
    this.finish?.(AGENT_EXIT.OK);
  }

  private async onJoin(session: AutobahnSession, isFirstJoin: boolean): Promise<void> {
    this.session = session;
    this.disarmGiveUpTimer();
    try {
      await session.register(`${this.address}.ops`, wrapProcedure(`${this.address}.ops`, async (args, kwargs) => floatOpsReply(await this.ops.handle(parseOpsCall(args, kwargs))), this.logger));
      await session.register(this.address, wrapProcedure(this.address, async (args, kwargs) => floatManagementReply(await this.ops.management(parseManagementCall(args, kwargs))), this.logger));
    } catch (err) {
      if (isAutobahnError(err) && err.error === WAMP_ERRORS.PROCEDURE_ALREADY_EXISTS) {
        this.logger.fatal(
          { address: this.address },
          `another agent is already registered at ${this.address}: instance-id '${this.options.instanceId}' is in use; exiting`,
        );
        this.isShuttingDown = true;
        await this.ops.stopAll();
        await this.connection?.close('wamp.close.normal');
        this.finish?.(AGENT_EXIT.DUPLICATE_INSTANCE);
        return;
      }
      this.logger.error({ err }, 'registering procedures failed');
      return;
    }
    if (isFirstJoin) this.registerFeed('heartbeat', { record: false });
    this.heartbeat.start();
    for (const [name, fn] of this.procedures) await this.registerOwn(session, name, fn);
    for (const sub of this.subscriptions.values()) await this.subscribeOne(session, sub);
    this.logger.info({ session: session.id, isFirstJoin }, 'joined and registered');
    if (isFirstJoin) await this.ops.runStartupOps();
    this.emit('joined', isFirstJoin);
  }

  private onLeave(reason: string, willRetry: boolean): void {
    this.session = undefined;
    this.heartbeat.stop();
    for (const sub of this.subscriptions.values()) sub.current = undefined;
    this.emit('left');
    if (this.isShuttingDown) return;
    this.logger.warn({ reason, willRetry }, 'lost the router; operations keep running while reconnecting');
    if (willRetry) this.armGiveUpTimer();
  }

  private async subscribeOne(session: AutobahnSession, sub: StandingSubscription): Promise<void> {
    try {
      sub.current = await session.subscribe(sub.topic, sub.handler, sub.options);
    } catch (err) {
      this.logger.error({ topic: sub.topic, err }, 'subscribe failed');
    }
  }

  private armGiveUpTimer(): void {
    const timeoutS = this.options.crossbarTimeoutS ?? 10;
    this.disarmGiveUpTimer();
    if (timeoutS <= 0) return;
    this.giveUpTimer = this.clock.setTimeout(() => {
      this.giveUpTimer = undefined;
      if (this.session) return;
      this.logger.fatal({ crossbarTimeoutS: timeoutS, url: this.options.wampUrl }, `no router at ${this.options.wampUrl} for ${timeoutS} s; stopping operations and exiting`);
      void this.stopOpsAndFinish(AGENT_EXIT.ROUTER_GONE);
    }, timeoutS * 1000);
  }

  private disarmGiveUpTimer(): void {
    if (this.giveUpTimer !== undefined) this.clock.clearTimeout(this.giveUpTimer);
    this.giveUpTimer = undefined;
  }

  private async stopOpsAndFinish(code: number): Promise<void> {
    if (this.isShuttingDown && code !== AGENT_EXIT.OK) {
      this.finish?.(code);
      return;
    }
    this.isShuttingDown = true;
    await this.ops.stopAll();
    await this.connection?.close('wamp.close.normal');
    this.finish?.(code);
  }

  private installSignalHandlers(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => {
        void this.shutdown(`received ${signal}`);
      };
      process.on(signal, handler);
      this.signalHandlers.push([signal, handler]);
    }
  }

  private cleanup(): void {
    this.heartbeat.stop();
    this.disarmGiveUpTimer();
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    this.signalHandlers.length = 0;
  }
}
