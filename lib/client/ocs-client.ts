/**
 * The OCS client: one agent, its operations discovered from `get_api`, each one a typed handle.
 *
 * ```ts
 * const c = await OcsClient.connect('fake-data1', { siteFile: 'site-config/default.yaml' });
 * await c.ops.delay_task.start({ delay: 1 });
 * const done = await c.ops.delay_task.wait({ timeoutS: 10 });   // {status, message, session}
 * await c.close();
 * ```
 *
 * Where: `siteFile` (an OCS site file: `hub.wamp_server`, `wamp_http`, `wamp_realm`,
 * `address_root`, with the matching host's overrides) or `siteConfig`, and explicit `url`,
 * `httpUrl`, `realm`, `addressRoot`, which win over the site. The agent address is
 * `{address_root}.{instance_id}`. Op names with `-` or spaces are reachable
 * with `_` (`ops.set_heartbeat` for `set-heartbeat`), as in OCS's client. Declaring the op kinds
 * types the handles exactly: `OcsClient.connect<{ delay_task: 'task'; acq: 'process' }>(…)`;
 * otherwise `task(name)` / `process(name)` give the specific handle.
 *
 * Transport: HTTP through the router's `/call` bridge by default, as OCS's client does since
 * 0.8: it needs no session, so a client costs nothing while idle and survives router restarts
 * between calls. WAMP is used when asked for (`transport: 'wamp'`) or when only a WebSocket URL
 * is known; it keeps one session open until `close()`.
 *
 * Failures are typed: AgentUnavailableError (no agent registered at the address),
 * OpNotFoundError (`op(name)` for an op the agent does not have), OpTimeoutError (`callTimeoutMs`
 * passed, or the router cancelled the call), RouterUnavailableError (router or bridge
 * unreachable). An operation that ran and failed is a reply (`status` -1, a FAILED session), not
 * an exception.
 */
import { AgentUnavailableError, ConfigError, InternalError, InvalidParamsError, OcsError, OpNotFoundError, RouterUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { AgentApiSchema, type AgentApi, type OpType } from './agent-api.js';
import { resolveClientTarget, type ClientTarget, type ClientTargetOptions } from './client-target.js';
import type { ClientTransport, TransportKind } from './client-transport.js';
import { HttpTransport } from './http-transport.js';
import { createOpHandle, type CallOptions, type OpAction, type OpHandle, type OpParams, type ProcessHandle, type TaskHandle } from './op-handle.js';
import { OpReplySchema, type OpReply } from './op-reply.js';
import { WampTransport } from './wamp-transport.js';
import { ExclusiveGrant, type ExclusiveGrantOptions } from './exclusive-grant.js';
import { choosePassword, loadPasswordFile, passwordFilePath, type PasswordRule } from './passwords.js';
import { readEnv } from '../site-config/env.js';

export interface OcsClientOptions extends ClientTargetOptions {
  /**
   * Sent as the `password` kwarg when non-empty and the agent's `get_api` carries
   * `access_control`. Without it: `privs` (OCS's argument: a password, or the level 2 or 3 to
   * find one for in the password file), else, if the password file exists, the password it has
   * for this agent at each op's own `min_privs` (passwords.ts).
   */
  password?: string;
  privs?: 1 | 2 | 3 | string;
  /** Default `$OCS_PASSWORDS_FILE`, else `~/.ocs-passwords.yaml`. */
  passwordFile?: string;
  /** Client-side deadline for every call; a `wait` with `timeoutS` gets that much longer. */
  callTimeoutMs?: number;
  logger?: Logger;
}

export type OpKinds = Record<string, OpType>;
type HandleFor<T> = T extends 'task' ? TaskHandle : T extends 'process' ? ProcessHandle : never;
export type OpHandles<K extends OpKinds> = { readonly [N in keyof K]: HandleFor<K[N]> };

export class OcsClient<K extends OpKinds = OpKinds> {
  /** The op handles by attribute name (`-` and spaces in op names become `_`). */
  readonly ops: OpHandles<K>;
  readonly agentClass: string | null;

  private readonly handles: ReadonlyMap<string, OpHandle>;
  /** a fixed password (explicit, or `privs`), or the password file's rules to pick from per op level */
  private readonly credentials: { password: string } | { rules: readonly PasswordRule[]; privs?: 2 | 3 };
  private readonly minPrivs = new Map<string, number>();
  private readonly grants = new Set<ExclusiveGrant>();

  private constructor(
    readonly instanceId: string,
    readonly address: string,
    /** The `get_api` reply the handles were built from. */
    readonly api: AgentApi,
    private readonly transport: ClientTransport,
    private readonly ownsTransport: boolean,
    private readonly options: OcsClientOptions,
    private readonly logger: Logger,
  ) {
    this.agentClass = api.agent_class;
    this.credentials = api.access_control != null ? credentialsFor(options) : { password: '' };
    const handles = new Map<string, OpHandle>();
    const request = this.request.bind(this);
    for (const [opType, entries] of [
      ['task', api.tasks],
      ['process', api.processes],
    ] as const) {
      for (const [name, , info] of entries) {
        handles.set(attributeName(name), createOpHandle(opType, name, info, request));
        this.minPrivs.set(name, info.min_privs ?? 1);
      }
    }
    this.handles = handles;
    this.ops = Object.freeze(Object.fromEntries(handles)) as OpHandles<K>;
  }

  /**
   * Reaches the agent `instanceId` and reads its API. Rejects with AgentUnavailableError when no
   * agent is registered there, RouterUnavailableError when the router cannot be reached,
   * ConfigError when neither a WebSocket nor an HTTP URL is given.
   */
  static async connect<K extends OpKinds = OpKinds>(instanceId: string, options: OcsClientOptions = {}): Promise<OcsClient<K>> {
    const target = resolveClientTarget(instanceId, options);
    const logger = (options.logger ?? silentLogger()).child({ component: 'ocs-client', address: target.address });
    const transport = options.via ?? (await openTransport(target, logger));
    const ownsTransport = options.via === undefined;
    try {
      const api = await fetchApi(transport, target.address, options.callTimeoutMs);
      logger.debug({ transport: transport.kind, agent_class: api.agent_class }, 'agent api read');
      return new OcsClient<K>(instanceId, target.address, api, transport, ownsTransport, options, logger);
    } catch (e) {
      if (ownsTransport) await transport.close();
      throw e;
    }
  }

  get transportKind(): TransportKind {
    return this.transport.kind;
  }

  /** Every op, by attribute name. */
  get opNames(): string[] {
    return [...this.handles.keys()];
  }

  /** The handle of op `name` (wire name or attribute name); OpNotFoundError when the agent has none. */
  op(name: string): OpHandle {
    const handle = this.handles.get(attributeName(name));
    if (!handle) {
      throw new OpNotFoundError(`agent ${this.address} (${this.agentClass ?? 'unknown class'}) has no operation "${name}"`, {
        details: { address: this.address, op: name, ops: this.opNames },
      });
    }
    return handle;
  }

  /** The handle of task `name`; OpNotFoundError when absent, InvalidParamsError when it is a process. */
  task(name: string): TaskHandle {
    return this.opOfType(name, 'task') as TaskHandle;
  }

  /** The handle of process `name`; OpNotFoundError when absent, InvalidParamsError when it is a task. */
  process(name: string): ProcessHandle {
    return this.opOfType(name, 'process') as ProcessHandle;
  }

  /** Queries `get_api` again (fresh sessions, feeds, access control). */
  getApi(): Promise<AgentApi> {
    return fetchApi(this.transport, this.address, this.options.callTimeoutMs);
  }

  /** Calls one of the agent's special procedures (`{address}.{name}`, e.g. the Access Director's `request_exclusive`). */
  async callSpecial(name: string, kwargs: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.transport.call(`${this.address}.${name}`, [], kwargs, this.options.callTimeoutMs === undefined ? {} : { timeoutMs: this.options.callTimeoutMs });
    } catch (e) {
      throw explainError(e, this.address);
    }
  }

  /**
   * Acquires the exclusive grant `grantName` from this agent, an Access Director, and keeps it
   * renewed until `release()` or this client's `close()` (exclusive-grant.ts).
   */
  async exclusive(grantName: string, options: ExclusiveGrantOptions = {}): Promise<ExclusiveGrant> {
    const grant = new ExclusiveGrant(
      grantName,
      (kwargs) => this.callSpecial('request_exclusive', kwargs),
      options,
      this.logger,
      (g) => this.grants.delete(g),
    );
    await grant.acquire();
    this.grants.add(grant);
    return grant;
  }

  /** Releases the grants it holds, then closes the transport it opened (a shared `via` transport stays open). */
  async close(): Promise<void> {
    for (const grant of [...this.grants]) await grant.release().catch((err: unknown) => this.logger.warn({ grant: grant.grantName, err: (err as Error).message }, 'releasing a grant failed'));
    if (this.ownsTransport) await this.transport.close();
  }

  private opOfType(name: string, opType: OpType): OpHandle {
    const handle = this.op(name);
    if (handle.opType !== opType) {
      throw new InvalidParamsError(`operation "${name}" of ${this.address} is a ${handle.opType}, not a ${opType}`, {
        details: { address: this.address, op: name, opType: handle.opType },
      });
    }
    return handle;
  }

  /** The password sent with an op's actions: the fixed one, else the file's for the op's level (2 or 3). */
  private passwordFor(opName: string): string {
    if ('password' in this.credentials) return this.credentials.password;
    if (this.credentials.privs !== undefined) return choosePassword(this.credentials.rules, this.credentials.privs, this.agentClass ?? '', this.instanceId);
    const level = this.minPrivs.get(opName) ?? 1;
    if (level <= 1) return '';
    return choosePassword(this.credentials.rules, level >= 3 ? 3 : 2, this.agentClass ?? '', this.instanceId);
  }

  private async request(
    action: OpAction,
    opName: string,
    params: OpParams,
    kwargs: Record<string, unknown>,
    options: CallOptions & { waitS?: number | null },
  ): Promise<OpReply> {
    const password = this.passwordFor(opName);
    const kw = password !== '' ? { ...kwargs, password } : kwargs;
    const timeoutMs = callDeadlineMs(options, this.options.callTimeoutMs);
    const procedure = `${this.address}.ops`;
    this.logger.debug({ action, op: opName }, 'op request');
    let raw: unknown;
    try {
      raw = await this.transport.call(procedure, [action, opName, params], kw, timeoutMs === undefined ? {} : { timeoutMs });
    } catch (e) {
      throw explainError(e, this.address);
    }
    const reply = OpReplySchema.safeParse(raw);
    if (!reply.success) {
      throw new InternalError(`unexpected reply to ${action} "${opName}" from ${this.address}`, {
        details: { address: this.address, action, op: opName, issues: reply.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
      });
    }
    return reply.data;
  }
}

/**
 * What to send an agent with access control (OcsClientOptions.password): a fixed password, or
 * the password file's rules, from which each op gets the password of its own level.
 */
function credentialsFor(options: OcsClientOptions): { password: string } | { rules: readonly PasswordRule[]; privs?: 2 | 3 } {
  if (options.password !== undefined) return { password: options.password };
  if (typeof options.privs === 'string') return { password: options.privs };
  if (options.privs === 1) return { password: '' };
  const rules = loadPasswordFile(options.passwordFile ?? passwordFilePath(readEnv()), options.privs !== undefined);
  if (rules === null) return { password: '' };
  return options.privs !== undefined ? { rules, privs: options.privs } : { rules };
}

/** OCS's `_opname_to_attr`: `-` and spaces become `_`. */
export function attributeName(opName: string): string {
  return opName.replace(/[- ]/g, '_');
}

async function openTransport(target: ClientTarget, logger: Logger): Promise<ClientTransport> {
  if (target.kind === 'http') return new HttpTransport({ url: target.url, logger });
  return WampTransport.open({ url: target.url, realm: target.realm, logger });
}

async function fetchApi(transport: ClientTransport, address: string, callTimeoutMs: number | undefined): Promise<AgentApi> {
  let raw: unknown;
  try {
    raw = await transport.call(address, ['get_api'], {}, callTimeoutMs === undefined ? {} : { timeoutMs: callTimeoutMs });
  } catch (e) {
    throw explainError(e, address);
  }
  const api = AgentApiSchema.safeParse(raw);
  if (!api.success) {
    throw new InternalError(`${address} did not answer get_api like an OCS agent`, {
      details: { address, issues: api.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
    });
  }
  return api.data;
}

/** The client deadline of one call: explicit, else the client's, stretched by a wait's own timeout. */
function callDeadlineMs(options: CallOptions & { waitS?: number | null }, clientDefaultMs: number | undefined): number | undefined {
  if (options.callTimeoutMs !== undefined) return options.callTimeoutMs;
  if (clientDefaultMs === undefined) return undefined;
  const waitS = options.waitS;
  return waitS !== undefined && waitS !== null && waitS > 0 ? clientDefaultMs + waitS * 1000 : clientDefaultMs;
}

/**
 * Rewords the router's "no such procedure" as "no agent at this address", and a session close
 * relayed as a call error (`wamp.close.*`, e.g. the router shutting down) as
 * RouterUnavailableError; other errors pass.
 */
function explainError(e: unknown, address: string): unknown {
  if (e instanceof AgentUnavailableError && e.details['uri'] !== undefined) {
    return new AgentUnavailableError(`no agent is registered at ${address}`, { details: { ...e.details, address }, cause: e });
  }
  const uri = e instanceof OcsError ? e.details['uri'] : undefined;
  if (typeof uri === 'string' && uri.startsWith('wamp.close.')) {
    return new RouterUnavailableError(`the router closed the call to ${address}: ${(e as Error).message}`, { details: { ...(e as OcsError).details, address }, cause: e });
  }
  if (e instanceof OcsError || !(e instanceof Error)) return e;
  return new InternalError(e.message, { details: { address }, cause: e });
}
