/**
 * The Access Director's config file (ocs-protocol §7.3), validated with zod, and what it becomes:
 * the rules distributed to every agent, and the exclusive-access blocks grants are made from.
 *
 * ```yaml
 * passwords_block_default_hashfunc: none   # how `passwords` values are written (none: clear text)
 * distrib_hashfunc: md5                    # how passwords are sent to agents (md5: first 16 hex digits)
 * passwords:
 *   - default: true
 *     password_2: 'advanced'
 *   - agent_class: FakeDataAgent
 *     password_3: {hash: md5, value: 03ba0072e0d32376}
 * exclusive_access_blocks:
 *   - name: fake-subsystem
 *     password: 'grant-pw'                 # asked of whoever requests the grant (optional)
 *     grants:
 *       - {agent_class: FakeDataAgent, cred_level: 2, lockout_levels: [2, 3]}
 * ```
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../lib/errors.js';
import { hashPassword, type AccessRule, type HashedPass } from '../../lib/ops/access.js';

export const AccessDirectorArgsSchema = z
  .object({
    /** relative paths are relative to the site file's folder */
    config_file: z.string().min(1),
  })
  .strict();
export type AccessDirectorArgs = z.infer<typeof AccessDirectorArgsSchema>;

const HashName = z.enum(['none', 'md5']);
const Level = z.number().int().min(0).max(4);
const PasswordValue = z.union([z.string(), z.object({ hash: z.enum(['none', 'md5', 'blocked']), value: z.string().default('') }).strict()]);
const Selectors = {
  default: z.boolean().nullish(),
  agent_class: z.string().nullish(),
  instance_id: z.string().nullish(),
};

const PasswordItemSchema = z
  .object({
    ...Selectors,
    password_1: PasswordValue.nullish(),
    password_2: PasswordValue.nullish(),
    password_3: PasswordValue.nullish(),
    password_4: PasswordValue.nullish(),
  })
  .strict();

const GrantItemSchema = z.object({ ...Selectors, cred_level: Level, lockout_levels: z.array(Level).default([]) }).strict();

const GrantBlockSchema = z
  .object({
    name: z.string().min(1),
    grants: z.array(GrantItemSchema),
    password: z.string().nullish(),
    hash: HashName.default('md5'),
  })
  .strict();
export type GrantBlock = z.infer<typeof GrantBlockSchema>;

export const DirectorConfigSchema = z
  .object({
    passwords_block_default_hashfunc: HashName.default('none'),
    distrib_hashfunc: HashName.default('md5'),
    passwords: z.array(PasswordItemSchema).nullish(),
    exclusive_access_blocks: z.array(GrantBlockSchema).nullish(),
  })
  .strict();

export interface DirectorConfig {
  /** the rules every agent gets (before grants) */
  rules: AccessRule[];
  blocks: GrantBlock[];
}

const LEVEL_KEYS = [
  ['password_1', 1],
  ['password_2', 2],
  ['password_3', 3],
  ['password_4', 4],
] as const;

function scopeOf(item: { default?: boolean | null; agent_class?: string | null; instance_id?: string | null }): AccessRule['scope_spec'] {
  return { default: item.default ?? false, agent_class: item.agent_class ?? null, instance_id: item.instance_id ?? null };
}

/**
 * OCS's `promote_pw`: `''` is free; a clear-text value (as `passwords_block_default_hashfunc`
 * says, or `{hash: none}`) is hashed with `distrib_hashfunc`; one already hashed goes as it is.
 */
function promote(value: z.infer<typeof PasswordValue>, blockHash: 'none' | 'md5', distribHash: 'none' | 'md5'): HashedPass {
  const given: HashedPass = typeof value === 'string' ? (value === '' ? { hash: 'none', value: '' } : { hash: blockHash, value }) : value;
  if (given.hash !== 'none' || given.value === '') return given;
  return { hash: distribHash, value: hashPassword(distribHash, given.value) };
}

/** Validates a parsed config document; ConfigError naming `source` and the path of every problem. */
export function parseDirectorConfig(input: unknown, source: string): DirectorConfig {
  const parsed = DirectorConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new ConfigError(problems.join('\n'), { details: { source, issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) } });
  }
  const c = parsed.data;
  const rules: AccessRule[] = [];
  for (const item of c.passwords ?? []) {
    for (const [key, level] of LEVEL_KEYS) {
      const value = item[key];
      if (value === undefined || value === null) continue;
      rules.push({ hashed_pass: promote(value, c.passwords_block_default_hashfunc, c.distrib_hashfunc), cred_level: level, scope_spec: scopeOf(item), lockout_id: null, lockout_owner: null, lockout_levels: [] });
    }
  }
  return { rules, blocks: c.exclusive_access_blocks ?? [] };
}

/** Reads and validates the config file (YAML); ConfigError naming the file. */
export function loadDirectorConfig(path: string): DirectorConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the Access Director config: ${(e as Error).message}`, { details: { source: path } });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new ConfigError(`${path}: invalid YAML: ${doc.errors[0]!.message}`, { details: { source: path } });
  return parseDirectorConfig(doc.toJS(), path);
}

/** The rules of one grant: its password (hashed with the block's hash) for each of its scopes. */
export function grantRules(block: GrantBlock, password: string, grantee: string | null): AccessRule[] {
  const hashed: HashedPass = { hash: block.hash, value: hashPassword(block.hash, password) };
  return block.grants.map((g) => ({
    hashed_pass: hashed,
    cred_level: g.cred_level,
    scope_spec: scopeOf(g),
    lockout_id: block.name,
    lockout_owner: grantee,
    lockout_levels: g.lockout_levels,
  }));
}
