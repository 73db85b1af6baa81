/**
 * What the console knows of the agents: discovered from heartbeats (as ocs-web does), described
 * by `get_api`, their op sessions from `status` polls, and the Registry's view (its `main`
 * session data and `agent_status` events) when one runs. Everything from the wire is checked here;
 * junk becomes a problem shown on that agent (or on the wire list when no agent can be named),
 * never an exception. Pure: time comes from the injected clock, so the view logic is tested
 * without a browser.
 */
import { AgentApiSchema, type AgentApi } from '../client/agent-api.js';
import { OpReplySchema, OpSessionDataSchema, hasSession, type OpSessionData } from '../client/op-reply.js';
import { AgentRecordSchema, type AgentRecord } from '../registry/agent-record.js';
import { parseHeartbeat } from '../registry/heartbeat-parser.js';
import { z } from 'zod';

/** ocs-web's rule: alive while the last heartbeat is at most 5 s old; checked every second, so expiry shows within 6 s. */
export const ALIVE_WINDOW_MS = 5_000;
/** Problems kept per agent, and on the wire list. */
export const MAX_PROBLEMS = 5;
/** Registry events kept for the live stream. */
export const MAX_EVENTS = 200;

const HEARTBEAT_SUFFIX = '.feeds.heartbeat';

export interface WireProblem {
  atMs: number;
  text: string;
}

export interface ConsoleAgent {
  readonly address: string;
  readonly instanceId: string;
  agentClass: string | null;
  /** the heartbeat feed's session_id: a new one is a new agent process */
  feedSessionId: string | null;
  /** when this page last heard a heartbeat; null: known only from the Registry */
  lastBeatAtMs: number | null;
  opCodes: Record<string, number>;
  api: AgentApi | null;
  apiError: string | null;
  /** the Registry's record, when a Registry tracks this agent */
  registry: AgentRecord | null;
  /** `agent.restarted` events seen since the page loaded */
  restarts: number;
  sessions: Record<string, OpSessionData>;
  problems: WireProblem[];
  isExpired: boolean;
  /** bumped on every change, for views that redraw only what changed */
  revision: number;
}

export interface RegistryEvent {
  atMs: number;
  event: string;
  agentAddress: string;
  /** the event's own time, unix seconds */
  time: number;
  detail: string;
}

const RegistryEventSchema = z.looseObject({
  event: z.string().min(1),
  agent_address: z.string().min(1),
  time: z.number(),
  record: AgentRecordSchema.optional(),
});

const RegistryDataSchema = z.record(z.string(), z.unknown());

function issuesText(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

function sameCodes(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

export interface AgentDirectoryOptions {
  addressRoot: string;
  registryAddress: string;
  nowMs: () => number;
}

export class AgentDirectory {
  private readonly agents = new Map<string, ConsoleAgent>();
  private sorted: ConsoleAgent[] | null = null;
  /** problems no agent can be named for (a heartbeat without a readable address, say) */
  readonly wireProblems: WireProblem[] = [];
  readonly events: RegistryEvent[] = [];
  /** the Registry's main session as last read; null until one answers */
  registrySeenAtMs: number | null = null;
  registryProblem: string | null = null;
  /** bumped on every change */
  revision = 0;

  constructor(private readonly options: AgentDirectoryOptions) {}

  get size(): number {
    return this.agents.size;
  }

  get(address: string): ConsoleAgent | undefined {
    return this.agents.get(address);
  }

  byInstanceId(instanceId: string): ConsoleAgent | undefined {
    return this.agents.get(`${this.options.addressRoot}.${instanceId}`);
  }

  /** All agents, by instance id (the same array until an agent is added). */
  list(): readonly ConsoleAgent[] {
    this.sorted ??= [...this.agents.values()].sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
    return this.sorted;
  }

  /** Agents not expired. */
  liveCount(): number {
    let n = 0;
    for (const agent of this.agents.values()) if (!agent.isExpired) n++;
    return n;
  }

  /**
   * One heartbeat EVENT. Returns the agent's address when its API should be (re)read: its first
   * beat, or a new process (another feed session_id); else null.
   */
  applyHeartbeat(args: unknown, topic?: string): string | null {
    const parsed = parseHeartbeat(args, { addressRoot: this.options.addressRoot }, topic === undefined ? undefined : { topic });
    const nowMs = this.options.nowMs();
    if (!parsed.ok) {
      const text = `heartbeat refused (${parsed.reason}): ${parsed.detail}`;
      // the topic names the publisher's agent; a beat claiming another agent is that publisher's problem
      const address = topic?.endsWith(HEARTBEAT_SUFFIX) ? topic.slice(0, -HEARTBEAT_SUFFIX.length) : parsed.agentAddress;
      const agent = address !== undefined && address.startsWith(`${this.options.addressRoot}.`) && !address.slice(this.options.addressRoot.length + 1).includes('.') ? this.ensure(address) : undefined;
      this.problem(agent, text, nowMs);
      return null;
    }
    const beat = parsed.beat;
    const agent = this.ensure(beat.agentAddress);
    const isNewProcess = agent.feedSessionId !== null && beat.sessionId !== null && agent.feedSessionId !== beat.sessionId;
    const isFirst = agent.lastBeatAtMs === null && agent.api === null;
    const agentClass = beat.agentClass ?? agent.agentClass;
    const opCodes = beat.opCodes === null ? agent.opCodes : (beat.opCodes as Record<string, number>);
    // a beat that changes nothing shown (the common case) redraws nothing
    const isChanged = isFirst || isNewProcess || agent.isExpired || agentClass !== agent.agentClass || !sameCodes(opCodes, agent.opCodes);
    agent.lastBeatAtMs = nowMs;
    agent.agentClass = agentClass;
    agent.feedSessionId = beat.sessionId ?? agent.feedSessionId;
    agent.opCodes = opCodes;
    agent.isExpired = false;
    if (isChanged) this.touch(agent);
    if (isNewProcess) {
      agent.sessions = {};
      return agent.address;
    }
    return isFirst || (agent.api === null && agent.apiError === null) ? agent.address : null;
  }

  /** The reply of `get_api`. */
  applyApi(address: string, raw: unknown): void {
    const agent = this.ensure(address);
    const parsed = AgentApiSchema.safeParse(raw);
    if (parsed.success) {
      agent.api = parsed.data;
      agent.apiError = null;
      agent.agentClass = parsed.data.agent_class ?? agent.agentClass;
    } else {
      agent.apiError = `get_api reply refused: ${issuesText(parsed.error)}`;
      this.problem(agent, agent.apiError, this.options.nowMs());
    }
    this.touch(agent);
  }

  apiFailed(address: string, message: string): void {
    const agent = this.ensure(address);
    agent.apiError = `get_api failed: ${message}`;
    this.touch(agent);
  }

  /** The reply of a `status` (or start/stop/wait) call: `[code, message, session]`. */
  applyOpReply(address: string, opName: string, raw: unknown): void {
    const agent = this.ensure(address);
    const parsed = OpReplySchema.safeParse(raw);
    if (!parsed.success) {
      this.problem(agent, `reply for op ${opName} refused: ${issuesText(parsed.error)}`, this.options.nowMs());
      return;
    }
    if (hasSession(parsed.data)) agent.sessions[opName] = parsed.data.session;
    this.touch(agent);
  }

  /** The Registry's `main` status reply; its session data is address → OCS record. */
  applyRegistryStatus(raw: unknown): void {
    const nowMs = this.options.nowMs();
    const reply = OpReplySchema.safeParse(raw);
    const session = reply.success ? OpSessionDataSchema.safeParse(reply.data.session) : undefined;
    const data = session?.success ? RegistryDataSchema.safeParse(session.data.data) : undefined;
    if (!reply.success || !session?.success || !data?.success) {
      this.registryProblem = `registry status refused: ${reply.success ? (session?.success ? 'session data is not a map' : 'no main session') : issuesText(reply.error)}`;
      this.revision++;
      return;
    }
    this.registrySeenAtMs = nowMs;
    this.registryProblem = null;
    for (const [address, value] of Object.entries(data.data)) {
      const record = AgentRecordSchema.safeParse(value);
      if (!address.startsWith(`${this.options.addressRoot}.`)) continue;
      const agent = this.ensure(address);
      if (!record.success) {
        this.problem(agent, `registry record refused: ${issuesText(record.error)}`, nowMs);
        continue;
      }
      this.setRegistryRecord(agent, record.data);
    }
    this.revision++;
  }

  /** One event of `{registry}.feeds.agent_status` (its feed message). */
  applyRegistryEvent(message: unknown): void {
    const nowMs = this.options.nowMs();
    const parsed = RegistryEventSchema.safeParse(message);
    if (!parsed.success) {
      this.problem(undefined, `agent_status event refused: ${issuesText(parsed.error)}`, nowMs);
      return;
    }
    const e = parsed.data;
    const { event, agent_address, time, record, ...rest } = e;
    const detail = Object.entries(rest)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    pushBounded(this.events, { atMs: nowMs, event, agentAddress: agent_address, time, detail }, MAX_EVENTS);
    if (agent_address.startsWith(`${this.options.addressRoot}.`)) {
      const agent = this.ensure(agent_address);
      if (event === 'agent.restarted') agent.restarts++;
      if (record !== undefined && event !== 'agent.forgotten') this.setRegistryRecord(agent, record);
      this.touch(agent);
    }
    this.revision++;
  }

  /** Marks agents expired whose last heartbeat is older than ALIVE_WINDOW_MS; returns whether any changed. */
  tick(): boolean {
    const nowMs = this.options.nowMs();
    let changed = false;
    for (const agent of this.agents.values()) {
      const isExpired = this.expiredNow(agent, nowMs);
      if (isExpired !== agent.isExpired) {
        agent.isExpired = isExpired;
        this.touch(agent);
        changed = true;
      }
    }
    return changed;
  }

  /** A problem met while talking to an agent (a failed call, say). */
  reportProblem(address: string | undefined, text: string): void {
    this.problem(address === undefined ? undefined : this.ensure(address), text, this.options.nowMs());
  }

  private expiredNow(agent: ConsoleAgent, nowMs: number): boolean {
    if (agent.lastBeatAtMs !== null) return nowMs - agent.lastBeatAtMs > ALIVE_WINDOW_MS;
    return agent.registry === null ? true : agent.registry.expired;
  }

  private setRegistryRecord(agent: ConsoleAgent, record: AgentRecord): void {
    agent.registry = record;
    agent.agentClass = agent.agentClass ?? record.agent_class;
    if (agent.lastBeatAtMs === null) {
      agent.opCodes = record.op_codes;
      agent.isExpired = record.expired;
    }
    this.touch(agent);
  }

  private ensure(address: string): ConsoleAgent {
    let agent = this.agents.get(address);
    if (agent === undefined) {
      agent = {
        address,
        instanceId: address.slice(this.options.addressRoot.length + 1),
        agentClass: null,
        feedSessionId: null,
        lastBeatAtMs: null,
        opCodes: {},
        api: null,
        apiError: null,
        registry: null,
        restarts: 0,
        sessions: {},
        problems: [],
        isExpired: false,
        revision: 0,
      };
      this.agents.set(address, agent);
      this.sorted = null;
    }
    return agent;
  }

  private problem(agent: ConsoleAgent | undefined, text: string, atMs: number): void {
    pushBounded(agent === undefined ? this.wireProblems : agent.problems, { atMs, text }, MAX_PROBLEMS);
    if (agent !== undefined) this.touch(agent);
    else this.revision++;
  }

  private touch(agent: ConsoleAgent): void {
    agent.revision++;
    this.revision++;
  }
}
