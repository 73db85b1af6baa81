/**
 * The console's traffic with the router: the heartbeat wildcard subscription and the `get_api`
 * queue (as ocs-web), the Registry's session data and `agent_status` stream, the 1 Hz `status`
 * polls of what is on screen (the selected agent's ops, the HostManagers on the hosts page), op
 * actions with passwords, child log tails and feed subscriptions for plots. Views read the
 * AgentDirectory and redraw on `subscribe`, at most every REDRAW_MS.
 */
import type { AutobahnSession, AutobahnSubscription } from '../../wamp/autobahn.js';
import { AgentDirectory } from '../agent-directory.js';
import type { ConsoleConfig } from '../console-config.js';
import { FeedWindow } from '../feed-window.js';
import { WampLink, errorText, type LinkState } from './wamp-link.js';

export const REDRAW_MS = 200;
const POLL_MS = 1000;
const REGISTRY_POLL_MS = 2000;
const API_CONCURRENCY = 8;

export type OpAction = 'start' | 'stop' | 'abort' | 'wait' | 'status';

export interface ActionOutcome {
  ok: boolean;
  message: string;
}

/** Per-second cost of applying what arrived (for the benchmark and the status bar). */
export interface ApplyStats {
  /** ms spent applying events and redrawing, one entry per wall-clock second (last 900) */
  secondCostsMs: number[];
  eventsApplied: number;
  redraws: number;
}

export interface PlotSubscription {
  address: string;
  feed: string;
  window: FeedWindow;
  error: string | null;
}

export class ConsoleSession {
  readonly directory: AgentDirectory;
  linkState: LinkState = { kind: 'connecting', attempt: 1 };
  readonly stats: ApplyStats = { secondCostsMs: [], eventsApplied: 0, redraws: 0 };
  /** passwords for agents with access control: per address, and one for every agent ('*') */
  readonly passwords = new Map<string, string>();
  /** which agent's ops are polled; which HostManagers */
  selectedAddress: string | null = null;
  watchedHosts = new Set<string>();
  /** HostManager address → its manager / orchestrator session (raw, checked by the view) */
  readonly hostData = new Map<string, { manager: unknown; orchestrator: unknown; error: string | null }>();
  readonly plots = new Map<string, PlotSubscription>();
  /** `address/child` → log text */
  readonly logs = new Map<string, { stdout: string[]; stderr: string[]; error: string | null }>();
  registryPresent: boolean | null = null;

  private readonly link: WampLink;
  private readonly listeners = new Set<() => void>();
  private readonly apiQueue: string[] = [];
  private apiInFlight = 0;
  private redrawTimer: ReturnType<typeof setTimeout> | undefined;
  private secondStartMs = performance.now();
  private secondCostMs = 0;
  private timers: ReturnType<typeof setInterval>[] = [];
  private plotSubs = new Map<string, AutobahnSubscription>();

  constructor(readonly config: ConsoleConfig) {
    this.directory = new AgentDirectory({ addressRoot: config.addressRoot, registryAddress: config.registryAddress, nowMs: () => Date.now() });
    this.link = new WampLink({
      url: config.routerUrl,
      realm: config.realm,
      onState: (state) => {
        this.linkState = state;
        this.changed();
      },
      onJoin: (session) => this.joined(session),
    });
  }

  start(): void {
    this.link.open();
    // every second: expiry, and a redraw so ages tick even when nothing arrives
    this.timers.push(
      setInterval(() => {
        this.measure(() => this.directory.tick());
        this.changed();
      }, 1000),
    );
    this.timers.push(setInterval(() => this.pollScreen(), POLL_MS));
    this.timers.push(setInterval(() => this.pollRegistry(), REGISTRY_POLL_MS));
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Marks the views stale; they redraw at most every REDRAW_MS. */
  changed(): void {
    if (this.redrawTimer !== undefined) return;
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = undefined;
      this.measure(() => {
        for (const l of this.listeners) l();
      });
      this.stats.redraws++;
    }, REDRAW_MS);
  }

  /** Runs `fn`, charging its time to the current second. */
  measure<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      const t1 = performance.now();
      this.secondCostMs += t1 - t0;
      if (t1 - this.secondStartMs >= 1000) {
        this.stats.secondCostsMs.push(this.secondCostMs);
        if (this.stats.secondCostsMs.length > 900) this.stats.secondCostsMs.shift();
        this.secondCostMs = 0;
        this.secondStartMs = t1;
      }
    }
  }

  private joined(session: AutobahnSession): void {
    const root = this.config.addressRoot;
    this.plotSubs.clear();
    void session
      .subscribe(
        `${root}..feeds.heartbeat`,
        (args, _kwargs, details) => {
          const address = this.measure(() => {
            this.stats.eventsApplied++;
            return this.directory.applyHeartbeat(args, details.topic);
          });
          if (address !== null) this.queueApi(address);
          this.changed();
        },
        { match: 'wildcard' },
      )
      .catch((e: unknown) => this.directory.reportProblem(undefined, `heartbeat subscription refused: ${errorText(e)}`));
    void session
      .subscribe(`${this.config.registryAddress}.feeds.agent_status`, (args) => {
        this.measure(() => {
          const pair = Array.isArray(args) && Array.isArray(args[0]) ? (args[0] as unknown[]) : null;
          this.directory.applyRegistryEvent(pair === null ? args : pair[0]);
        });
        this.changed();
      })
      .catch((e: unknown) => this.directory.reportProblem(undefined, `agent_status subscription refused: ${errorText(e)}`));
    for (const plot of this.plots.values()) this.subscribePlot(session, plot);
    // agents known before a reconnect describe themselves again only if asked
    for (const agent of this.directory.list()) if (agent.api === null) this.queueApi(agent.address);
    this.pollRegistry();
  }

  private queueApi(address: string): void {
    if (!this.apiQueue.includes(address)) this.apiQueue.push(address);
    this.drainApi();
  }

  private drainApi(): void {
    const session = this.link.current;
    while (session !== null && this.apiInFlight < API_CONCURRENCY && this.apiQueue.length > 0) {
      const address = this.apiQueue.shift() as string;
      this.apiInFlight++;
      session
        .call(address, ['get_api'])
        .then(
          (api) => this.measure(() => this.directory.applyApi(address, api)),
          (e: unknown) => this.directory.apiFailed(address, errorText(e)),
        )
        .finally(() => {
          this.apiInFlight--;
          this.changed();
          this.drainApi();
        });
    }
  }

  private pollRegistry(): void {
    const session = this.link.current;
    if (session === null) return;
    session.call(`${this.config.registryAddress}.ops`, ['status', 'main', {}]).then(
      (reply) => {
        this.registryPresent = true;
        this.measure(() => this.directory.applyRegistryStatus(reply));
        this.changed();
      },
      (e: unknown) => {
        this.registryPresent = false;
        this.directory.registryProblem = `no Registry at ${this.config.registryAddress} (${errorText(e)})`;
        this.changed();
      },
    );
  }

  private pollScreen(): void {
    const session = this.link.current;
    if (session === null) return;
    const selected = this.selectedAddress === null ? undefined : this.directory.get(this.selectedAddress);
    if (selected?.api != null && !selected.isExpired) {
      for (const [op] of [...selected.api.tasks, ...selected.api.processes]) void this.action(selected.address, 'status', op, {}, true);
    }
    for (const address of this.watchedHosts) {
      const entry = this.hostData.get(address) ?? { manager: null, orchestrator: null, error: null };
      this.hostData.set(address, entry);
      const agent = this.directory.get(address);
      const hasOrchestrator = agent?.api?.processes.some(([name]) => name === 'orchestrator') ?? false;
      for (const op of hasOrchestrator ? ['manager', 'orchestrator'] : ['manager']) {
        session.call(`${address}.ops`, ['status', op, {}], this.passwordKwargs(address)).then(
          (reply) => {
            const session = Array.isArray(reply) ? (reply[2] as { data?: unknown } | undefined) : undefined;
            if (op === 'manager') entry.manager = session?.data ?? null;
            else entry.orchestrator = session?.data ?? null;
            entry.error = null;
            this.changed();
          },
          (e: unknown) => {
            entry.error = errorText(e);
            this.changed();
          },
        );
      }
    }
  }

  private passwordKwargs(address: string): Record<string, unknown> {
    const agent = this.directory.get(address);
    if (agent?.api?.access_control == null) return {};
    const password = this.passwords.get(address) ?? this.passwords.get('*') ?? '';
    return password === '' ? {} : { password };
  }

  /**
   * One op action (`{addr}.ops` with `[action, op, params]`), its reply applied to the directory.
   * The outcome carries the agent's message, or the router's error text.
   */
  async action(address: string, action: OpAction, op: string, params: Record<string, unknown>, isQuiet = false): Promise<ActionOutcome> {
    const session = this.link.current;
    if (session === null) return { ok: false, message: 'not connected to the router' };
    const kwargs = { ...this.passwordKwargs(address), ...(action === 'wait' ? { timeout: 30 } : {}) };
    try {
      const reply = await session.call(`${address}.ops`, [action, op, action === 'start' ? params : {}], kwargs);
      this.measure(() => this.directory.applyOpReply(address, op, reply));
      this.changed();
      const code = Array.isArray(reply) ? reply[0] : undefined;
      const message = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : JSON.stringify(reply);
      return { ok: code === 0, message };
    } catch (e) {
      const message = errorText(e);
      if (!isQuiet) this.directory.reportProblem(address, `${action} ${op}: ${message}`);
      this.changed();
      return { ok: false, message };
    }
  }

  /** A supervisor verb of a HostManager on one child (`{verb}` task with `{ids}`), then wait for it. */
  async childVerb(hostAddress: string, verb: string, childId: string): Promise<ActionOutcome> {
    const started = await this.action(hostAddress, 'start', verb, { ids: [childId] });
    if (!started.ok) return started;
    const done = await this.action(hostAddress, 'wait', verb, {});
    const agent = this.directory.get(hostAddress);
    const session = agent?.sessions[verb];
    return { ok: session?.success === true, message: session?.messages.at(-1)?.[1] ?? done.message };
  }

  /** The tail of a HostManager child's logs (its `logs` task). */
  async fetchLogs(hostAddress: string, childId: string, lines = 200): Promise<void> {
    const key = `${hostAddress}/${childId}`;
    const started = await this.action(hostAddress, 'start', 'logs', { id: childId, stream: 'both', lines }, true);
    if (started.ok) await this.action(hostAddress, 'wait', 'logs', {}, true);
    const data = this.directory.get(hostAddress)?.sessions['logs']?.data as { id?: unknown; stdout?: unknown; stderr?: unknown } | undefined;
    const lines_ = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split('\n') : []);
    this.logs.set(key, started.ok && data?.id === childId ? { stdout: lines_(data.stdout), stderr: lines_(data.stderr), error: null } : { stdout: [], stderr: [], error: started.message });
    this.changed();
  }

  /** Plots a recorded feed: subscribes once per feed and keeps a rolling window. */
  plot(address: string, feed: string): PlotSubscription {
    const key = `${address}.feeds.${feed}`;
    let plot = this.plots.get(key);
    if (plot === undefined) {
      plot = { address, feed, window: new FeedWindow(), error: null };
      this.plots.set(key, plot);
      const session = this.link.current;
      if (session !== null) this.subscribePlot(session, plot);
    }
    return plot;
  }

  unplot(address: string, feed: string): void {
    const key = `${address}.feeds.${feed}`;
    this.plots.delete(key);
    const sub = this.plotSubs.get(key);
    this.plotSubs.delete(key);
    if (sub !== undefined) void this.link.current?.unsubscribe(sub).catch(() => {});
  }

  private subscribePlot(session: AutobahnSession, plot: PlotSubscription): void {
    const key = `${plot.address}.feeds.${plot.feed}`;
    session
      .subscribe(key, (args) => {
        const result = this.measure(() => plot.window.applyEvent(args));
        plot.error = result.ok ? null : result.error;
        this.changed();
      })
      .then(
        (sub) => this.plotSubs.set(key, sub),
        (e: unknown) => {
          plot.error = `subscription refused: ${errorText(e)}`;
          this.changed();
        },
      );
  }
}
