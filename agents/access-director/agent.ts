/**
 * OCS's Access Director (ocs-protocol §7.3): hands out the access rules of its config file on the
 * `controls` feed, and exclusive grants on request.
 *
 * - `controls` (record=false) carries `{"reset": true, "ac_version": 1, "step": N, "rules": [...]}`
 *   (config rules plus the active grants' rules) after every load or grant change and every 60 s,
 *   and `{"target": id, "ac_version": 1, "step": N, "rules": [rules in its scope]}` in answer to
 *   `agent_poll(instance_id, agent_class)`.
 * - `request_exclusive(grant_name, password, action, expire_at, grantee, strict)` acquires, renews
 *   or releases a grant of an `exclusive_access_blocks` entry, with OCS's replies. A grant
 *   expires at `expire_at` (default now + 60 s); the next feed message then frees the lock.
 * - `reload_config` reads the file again; a broken file leaves the rules as they were and fails
 *   the task with the file's error.
 * Requests are answered from `manager`'s 1 s loop, as OCS does; `step` counts changes.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { ConfigError } from '../../lib/errors.js';
import { AC_VERSION, scopeMatches, type AccessRule } from '../../lib/ops/access.js';
import type { OpResult } from '../../lib/ops/op-spec.js';
import type { OpSession } from '../../lib/ops/op-session.js';
import { WampFloat } from '../../lib/wamp/float.js';
import { grantRules, loadDirectorConfig, type DirectorConfig, type GrantBlock } from './config.js';

/** Full `controls` messages go out at least this often. */
export const BLAST_INTERVAL_MS = 60_000;
/** A grant without `expire_at` lasts this long. */
export const DEFAULT_GRANT_S = 60;
const LOOP_MS = 1000;
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export type DirectorHost = Pick<AgentRuntime, 'logger' | 'registerFeed' | 'registerProcess' | 'registerTask' | 'registerProcedure' | 'publishToFeed'>;

interface Grant {
  name: string;
  rules: AccessRule[];
  expireAtS: number;
  grantee: string | null;
}

type PollRequest = { type: 'reset' } | { type: 'single'; instanceId: string; agentClass: string };

const Underscore = z.object({ _: z.unknown().optional() }).strict();

const RequestSchema = z.object({
  grant_name: z.string().nullish(),
  password: z.string().nullish(),
  action: z.string().nullish(),
  expire_at: z.number().nullish(),
  grantee: z.string().nullish(),
  strict: z.boolean().nullish(),
});
const REQUEST_KEYS = ['grant_name', 'password', 'action', 'expire_at', 'grantee', 'strict'] as const;

/** `[args, kwargs]` of a call as one record of named values (positional in OCS's order). */
function named<K extends string>(keys: readonly K[], args: unknown[], kwargs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...kwargs };
  keys.forEach((k, i) => {
    if (i < args.length && out[k] === undefined) out[k] = args[i];
  });
  return out;
}

function randomLetters(n = 8): string {
  let s = '';
  for (let i = 0; i < n; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

export class AccessDirector {
  private config: DirectorConfig;
  private grants: Grant[] = [];
  private requests: PollRequest[] = [];
  /** changes so far (OCS starts at 1) */
  private step = 1;
  private lastBlastMs = 0;
  private readonly clock: Clock;

  constructor(
    private readonly host: DirectorHost,
    private readonly configFile: string,
    clock: Clock = systemClock,
  ) {
    this.clock = clock;
    // a broken file at start is a config error: the agent exits 78
    this.config = loadDirectorConfig(configFile);
    this.updateAll();
    host.registerFeed('controls', { record: false });
    host.registerProcess('manager', {
      start: (session) => this.manager(session),
      stop: (session) => {
        session.setStatus('stopping');
        return [true, 'Stop initiated.'];
      },
      params: Underscore,
      startup: true,
      blocking: false,
      docstring: 'manager()\n\n**Process** - Update the main access control feed with new access information. This occurs in response to agent queries, or if new grants require updates to access.',
    });
    host.registerTask('reload_config', {
      fn: () => this.reloadConfig(),
      params: Underscore,
      blocking: false,
      docstring: 'reload_config()\n\n**Task** - Reload access config file.',
    });
    void host.registerProcedure('agent_poll', (args, kwargs) => {
      const p = named(['instance_id', 'agent_class'], args, kwargs);
      return this.agentPoll(p['instance_id'], p['agent_class']);
    });
    void host.registerProcedure('request_exclusive', (args, kwargs) => this.requestExclusive(named(REQUEST_KEYS, args, kwargs)));
  }

  private nowS(): number {
    return this.clock.nowMs() / 1000;
  }

  private updateAll(step = 1): void {
    this.step += step;
    this.requests.push({ type: 'reset' });
  }

  async manager(session: OpSession): Promise<OpResult> {
    session.setStatus('running');
    session.data = {};
    while (session.status === 'running') {
      this.tick(session);
      await session.sleep(LOOP_MS);
    }
    return [true, 'Exited.'];
  }

  /** One turn of `manager`: expire grants, answer the queued requests, the periodic full message. */
  tick(session?: OpSession): void {
    const now = this.nowS();
    const keep = this.grants.filter((g) => g.expireAtS > now);
    if (keep.length < this.grants.length) {
      for (const g of this.grants) if (g.expireAtS <= now) this.host.logger.info({ grant: g.name }, `Grant expiring: ${g.name}`);
      this.grants = keep;
      this.updateAll();
    }
    if (session !== undefined) session.data['grants'] = this.grants.map((g) => ({ name: g.name, expire_at: new WampFloat(g.expireAtS), grantee: g.grantee, rules: g.rules }));
    const all = (): AccessRule[] => [...this.config.rules, ...this.grants.flatMap((g) => g.rules)];
    while (this.requests.length > 0) {
      const r = this.requests.shift()!;
      if (r.type === 'reset') {
        this.lastBlastMs = this.clock.nowMs();
        this.host.publishToFeed('controls', { reset: true, ac_version: AC_VERSION, step: this.step, rules: all() });
      } else {
        const rules = all().filter((rule) => scopeMatches(rule.scope_spec, r.agentClass, r.instanceId));
        this.host.publishToFeed('controls', { target: r.instanceId, ac_version: AC_VERSION, step: this.step, rules });
      }
    }
    if (this.clock.nowMs() - this.lastBlastMs > BLAST_INTERVAL_MS) this.updateAll(0);
  }

  reloadConfig(): OpResult {
    try {
      this.config = loadDirectorConfig(this.configFile);
    } catch (e) {
      if (e instanceof ConfigError) {
        this.host.logger.error({ file: this.configFile }, `reload_config: ${e.message}; the rules stay as they were`);
        return [false, e.message];
      }
      throw e;
    }
    this.updateAll();
    return [true, 'Update requested.'];
  }

  agentPoll(instanceId: unknown, agentClass: unknown): boolean {
    if (typeof instanceId !== 'string' || instanceId === '' || typeof agentClass !== 'string' || agentClass === '') {
      this.host.logger.error({ instance_id: instanceId, agent_class: agentClass }, 'agent_poll needs instance_id and agent_class (strings)');
      return false;
    }
    this.host.logger.info({ instance_id: instanceId, agent_class: agentClass }, `agent-poll received from ${agentClass}:${instanceId}`);
    this.requests.push({ type: 'single', instanceId, agentClass });
    return true;
  }

  /** OCS's `request_exclusive`, with its exact replies. */
  requestExclusive(raw: Record<string, unknown>): Record<string, unknown> {
    const parsed = RequestSchema.safeParse(raw);
    if (!parsed.success) return { error: `Invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
    const { grant_name: grantName, password, action, expire_at: expireAt, grantee } = parsed.data;
    const strict = parsed.data.strict ?? true;
    if (grantName == null) return { error: 'No grant_name specified.' };
    const block: GrantBlock | undefined = this.config.blocks.find((b) => b.name === grantName);
    if (block === undefined) return { error: `Named grant not found (${grantName})` };
    if (block.password != null && block.password !== password) return { error: `Credential failed to access (${grantName})` };
    const index = this.grants.findIndex((g) => g.name === grantName);
    const held = index >= 0 ? this.grants[index]! : undefined;
    const expiry = (): number => expireAt ?? this.nowS() + DEFAULT_GRANT_S;
    switch (action) {
      case 'acquire': {
        if (held !== undefined) {
          if (strict) return { error: `Grant is already held (grantee: ${String(held.grantee)}); release it first.` };
          this.grants.splice(index, 1);
        }
        const grantPassword = randomLetters();
        const grant: Grant = { name: grantName, rules: grantRules(block, grantPassword, grantee ?? null), expireAtS: expiry(), grantee: grantee ?? null };
        this.grants.push(grant);
        this.updateAll();
        this.host.logger.info({ grant: grantName, grantee }, `Exclusive access granted: ${grantName}`);
        return { message: 'grant acquired', password: grantPassword, grant_name: grantName, expire_at: new WampFloat(grant.expireAtS), step: this.step };
      }
      case 'renew':
        if (held === undefined) return { error: 'Grant is not currently held; cannot renew.' };
        held.expireAtS = expiry();
        return { message: 'grant renewed', grant_name: grantName, expire_at: new WampFloat(held.expireAtS), step: this.step };
      case 'release':
        if (held === undefined) {
          if (strict) return { error: 'Grant is not currently held; cannot release.' };
        } else {
          this.grants.splice(index, 1);
          this.updateAll();
          this.host.logger.info({ grant: grantName }, `Exclusive access relinquished: ${grantName}`);
        }
        return { message: 'grant released', grant_name: grantName, step: this.step };
      default:
        return { error: `Unknown action (${String(action)}); expected acquire, renew or release.` };
    }
  }
}
