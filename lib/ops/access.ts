import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { CredLevel, credLevelText } from './op-codes.js';
import { pythonRepr } from './python-repr.js';
import { parseAccessPolicy, type AccessPolicy, type AccessPolicyName } from '../site-config/access-policy.js';

/** Access-control protocol version agents report in `get_api` (`ocs.access.AC_VERSION`). */
export const AC_VERSION = 1;


/** The `access_control` block of `get_api` (key order as OCS). */
export interface AccessData {
  version: number;
  policy: AccessPolicyName;
  update_timestamp: number;
  update_count: number;
  step: number;
}

const HashedPassSchema = z.object({
  hash: z.string(),
  value: z.string().default(''),
});

const ScopeSpecSchema = z.object({
  default: z.boolean().nullish(),
  agent_class: z.string().nullish(),
  instance_id: z.string().nullish(),
});

/** One access rule as the Access Director distributes it (ocs-protocol §7.3). */
export const AccessRuleSchema = z.object({
  hashed_pass: HashedPassSchema,
  cred_level: z.number().int().min(0).max(4),
  scope_spec: ScopeSpecSchema.default({ default: true }),
  lockout_id: z.string().nullish(),
  lockout_owner: z.string().nullish(),
  lockout_levels: z.array(z.number().int().min(0).max(4)).nullish(),
});
export type AccessRule = z.infer<typeof AccessRuleSchema>;
export type AccessRuleInput = z.input<typeof AccessRuleSchema>;

/** A message on the Access Director's `controls` feed. */
export const DirectorMessageSchema = z.object({
  ac_version: z.unknown(),
  reset: z.boolean().nullish(),
  target: z.string().nullish(),
  step: z.number().default(0),
  rules: z.array(AccessRuleSchema).default([]),
});

/** The outcome of a credential check: the level, and OCS's detail text (appended to start rejections). */
export interface Credentials {
  level: number;
  detail: string;
}

export interface AccessControlOptions {
  /** A parsed policy, or the OCS string: `none` / empty / absent, `override:<pw2>,<pw3>`, `director:<id>`. */
  policy?: AccessPolicy | string | null;
  agentClass: string;
  instanceId?: string;
  clock: Clock;
}

const HASHES: Record<string, (clear: string) => string> = {
  none: (clear) => clear,
  md5: (clear) => createHash('md5').update(clear, 'utf8').digest('hex').slice(0, 16),
};

/** A password as an agent compares it: `none` is clear text, `md5` the first 16 hex digits of MD5 (OCS `HASHFUNCS`). */
export function hashPassword(hash: 'none' | 'md5', clear: string): string {
  return HASHES[hash]!(clear);
}

export type HashedPass = AccessRule['hashed_pass'];

function toPolicy(policy: AccessPolicy | string | null | undefined): AccessPolicy {
  if (policy !== null && typeof policy === 'object') return policy;
  const parsed = parseAccessPolicy(policy);
  if ('error' in parsed) throw new ConfigError(`invalid access policy: ${parsed.error}`);
  return parsed;
}

const FREE: AccessRule['hashed_pass'] = { hash: 'none', value: '' };
const BLOCKED: AccessRule['hashed_pass'] = { hash: 'blocked', value: '' };

/**
 * An agent's access policy (`ocs/access.py`): which credential level a caller's password gives.
 * `none`: everyone is level 1. `override:pw2,pw3`: free ⇒ 1, pw2 ⇒ 2, pw3 ⇒ 3. `director:`:
 * everything blocked (level 0) until `setRules()` / `applyDirectorMessage()` installs rules.
 * The agent's own startup ops use the superuser key: level 4 unless the policy is `none`.
 */
export class AccessControl {
  readonly policy: AccessPolicyName;
  /** The Access Director's instance id under `director:`, else null. */
  readonly directorId: string | null;
  private rules: AccessRule[];
  private readonly data: AccessData;
  private readonly agentClass: string;
  private readonly instanceId: string;
  private readonly clock: Clock;

  constructor(options: AccessControlOptions) {
    this.agentClass = options.agentClass;
    this.instanceId = options.instanceId ?? '';
    this.clock = options.clock;
    const policy = toPolicy(options.policy);
    const rule = (hashedPass: AccessRule['hashed_pass'], level: number): AccessRule => ({
      hashed_pass: hashedPass,
      cred_level: level,
      scope_spec: { default: true },
      lockout_levels: [],
    });
    this.policy = policy.policy;
    this.directorId = policy.policy === 'director' ? policy.directorId : null;
    switch (policy.policy) {
      case 'none':
        this.rules = [1, 2, 3].map((level) => rule(FREE, level));
        break;
      case 'director':
        this.rules = [1, 2, 3].map((level) => rule(BLOCKED, level));
        break;
      case 'override':
        this.rules = [rule(FREE, 1), rule({ hash: 'none', value: policy.password2 }, 2), rule({ hash: 'none', value: policy.password3 }, 3)];
        break;
    }
    this.data = { version: AC_VERSION, policy: this.policy, update_timestamp: this.nowS(), update_count: 0, step: 0 };
  }

  /**
   * The credential level a password gives (OCS `agent_get_creds`). `isSuperuser` is the agent
   * starting its own ops. Lockouts lower the level one step at a time, with OCS's detail text.
   */
  credentials(password: string | null | undefined, isSuperuser = false): Credentials {
    if (this.policy === 'none') return { level: CredLevel.BASIC, detail: 'No access policy -- level 1 for all.' };
    if (isSuperuser) return { level: CredLevel.SUPERUSER, detail: 'Super-user.' };
    const levels: number[] = [CredLevel.BLOCKED];
    const blocked = new Set<number>();
    const owners = new Set<string>();
    for (const rule of this.rules) {
      if (!this.inScope(rule.scope_spec)) continue;
      if (checkPassword(rule.hashed_pass, password)) levels.push(rule.cred_level);
      else if (rule.lockout_levels && rule.lockout_levels.length > 0) {
        for (const l of rule.lockout_levels) blocked.add(l);
        owners.add(`${rule.lockout_id ?? 'None'}[${rule.lockout_owner ?? 'None'}]`);
      }
    }
    let level = Math.max(...levels);
    let isDiminished = false;
    while (level > CredLevel.BLOCKED && blocked.has(level)) {
      level -= 1;
      isDiminished = true;
    }
    return { level, detail: isDiminished ? `Privileges diminished; lockouts active: ${pythonRepr([...owners])}` : '' };
  }

  /** Replaces all rules (as a message from the Access Director does) and bumps `update_count`. */
  setRules(rules: readonly AccessRuleInput[], step = this.data.step): void {
    this.rules = rules.map((r) => AccessRuleSchema.parse(r));
    this.data.update_timestamp = this.nowS();
    this.data.update_count += 1;
    this.data.step = step;
  }

  /**
   * Handles one message from `{root}.{director}.feeds.controls` (the message, not the
   * `[message, feed]` pair). Returns true when it replaced the rules: `reset`, or targeted at this
   * instance; messages of another `ac_version` or malformed ones are ignored.
   */
  applyDirectorMessage(message: unknown): boolean {
    const parsed = DirectorMessageSchema.safeParse(message);
    if (!parsed.success || parsed.data.ac_version !== AC_VERSION) return false;
    if (!parsed.data.reset && parsed.data.target !== this.instanceId) return false;
    this.setRules(parsed.data.rules, parsed.data.step);
    return true;
  }

  /** The `access_control` block for `get_api` (a fresh object). */
  accessData(): AccessData {
    return { ...this.data };
  }

  private inScope(scope: AccessRule['scope_spec']): boolean {
    return scopeMatches(scope, this.agentClass, this.instanceId);
  }

  private nowS(): number {
    return this.clock.nowMs() / 1000;
  }
}

/** OCS `ScopeSpec.check`: `default` matches all; neither selector matches nothing; else every given selector must match. */
export function scopeMatches(scope: AccessRule['scope_spec'], agentClass: string, instanceId: string): boolean {
  if (scope.default) return true;
  if (scope.agent_class == null && scope.instance_id == null) return false;
  if (scope.agent_class != null && !patternMatch(agentClass, scope.agent_class)) return false;
  if (scope.instance_id != null && !patternMatch(instanceId, scope.instance_id)) return false;
  return true;
}

/** OCS's rejection text: `The action requires credential level 2-ADVANCED but the client has only level 1-BASIC`. */
export function rejectionMessage(level: number, requiredLevel: number, detail = ''): string {
  const text = `The action requires credential level ${credLevelText(requiredLevel)} but the client has only level ${credLevelText(level)}`;
  return detail === '' ? text : `${text} ${detail}`;
}

/** `HashedPass.check`: null ⇒ ''; `blocked` never matches; an empty value matches anything. */
function checkPassword(hashed: AccessRule['hashed_pass'], password: string | null | undefined): boolean {
  if (hashed.hash === 'blocked') return false;
  if (hashed.value === '') return true;
  const hash = HASHES[hashed.hash];
  return hash !== undefined && hash(password ?? '') === hashed.value;
}

/** OCS `pattern_match`: comma-separated fnmatch globs, `!glob` excludes. */
export function patternMatch(target: string, pattern: string): boolean {
  const positives: boolean[] = [];
  let isExcluded = false;
  for (let sub of pattern.split(',')) {
    const isNegative = sub.startsWith('!');
    if (isNegative) sub = sub.slice(1);
    if (sub.length === 0) continue;
    const hit = fnmatch(target, sub);
    if (isNegative) isExcluded ||= hit;
    else positives.push(hit);
  }
  return (positives.length === 0 || positives.some(Boolean)) && !isExcluded;
}

/** Python's `fnmatch.fnmatchcase` (POSIX): `*`, `?`, `[seq]`, `[!seq]`. */
export function fnmatch(name: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) re += '\\[';
      else {
        let body = pattern.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        else if (body.startsWith('^')) body = `\\${body}`;
        re += `[${body}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's').test(name);
}
