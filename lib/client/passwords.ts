/**
 * The client password file (`~/.ocs-passwords.yaml`, or `$OCS_PASSWORDS_FILE`), as OCS's
 * `ocs.access.get_password` reads it: a list of rules `{default | agent_class | instance_id,
 * password_2 | password_3}`. For level 2 a rule offers its `password_2`, else its `password_3`;
 * for level 3 only `password_3`. Among the rules whose selectors match the agent, the most
 * specific wins (instance_id with a positive glob 8, agent_class positive 4, instance_id negative
 * 2, agent_class negative 1, summed; `default` 0); a tie goes to the later rule. No match: `''`.
 * A malformed file is a ConfigError naming the file; no message ever holds a password.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { scopeMatches } from '../ops/access.js';
import type { OcsEnv } from '../site-config/env.js';

const RuleSchema = z
  .object({
    default: z.boolean().nullish(),
    agent_class: z.string().nullish(),
    instance_id: z.string().nullish(),
    password_2: z.string().nullish(),
    password_3: z.string().nullish(),
  })
  .strict();
export type PasswordRule = z.infer<typeof RuleSchema>;

/** `$OCS_PASSWORDS_FILE`, else `~/.ocs-passwords.yaml`. */
export function passwordFilePath(env: Pick<OcsEnv, 'passwordsFile'>): string {
  return env.passwordsFile ?? join(homedir(), '.ocs-passwords.yaml');
}

/** The rules of a password file; null when the file does not exist (and `isRequired` is false). */
export function loadPasswordFile(path: string, isRequired = false): PasswordRule[] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !isRequired) return null;
    throw new ConfigError(`${path}: cannot read the password file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { details: { source: path } });
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(`${path}: the password file is not valid YAML (line ${doc.errors[0]!.linePos?.[0]?.line ?? '?'})`, { details: { source: path } });
  const parsed = z.array(RuleSchema).safeParse(doc.toJS() ?? []);
  if (!parsed.success) {
    // paths and expectations only: never the values, which may be passwords
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.code === 'unrecognized_keys' ? `unknown key ${i.keys.join(', ')}` : i.code === 'invalid_type' ? `expected ${i.expected}` : 'invalid'}`);
    throw new ConfigError(`${path}: the password file must be a list of {default|agent_class|instance_id, password_2|password_3}: ${problems.join('; ')}`, { details: { source: path } });
  }
  return parsed.data;
}

function hasSubpatterns(pattern: string, isNegative: boolean): boolean {
  return pattern.split(',').some((p) => (isNegative ? p.startsWith('!') && p.length > 1 : !p.startsWith('!') && p.length > 0));
}

/** OCS `ScopeSpec.get_specificity`. */
export function specificity(rule: Pick<PasswordRule, 'default' | 'agent_class' | 'instance_id'>): number {
  if (rule.default) return 0;
  let n = 0;
  if (rule.instance_id != null) {
    if (hasSubpatterns(rule.instance_id, false)) n += 8;
    if (hasSubpatterns(rule.instance_id, true)) n += 2;
  }
  if (rule.agent_class != null) {
    if (hasSubpatterns(rule.agent_class, false)) n += 4;
    if (hasSubpatterns(rule.agent_class, true)) n += 1;
  }
  return n;
}

/** The password for `privs` (2 or 3) at this agent, `''` when no rule offers one. */
export function choosePassword(rules: readonly PasswordRule[], privs: 2 | 3, agentClass: string, instanceId: string): string {
  let best: { spec: number; index: number; password: string } | undefined;
  rules.forEach((rule, index) => {
    const scope = { default: rule.default ?? false, agent_class: rule.agent_class ?? null, instance_id: rule.instance_id ?? null };
    if (!scopeMatches(scope, agentClass, instanceId)) return;
    const password = privs <= 2 && rule.password_2 != null ? rule.password_2 : rule.password_3 != null ? rule.password_3 : undefined;
    if (password === undefined) return;
    const spec = specificity(rule);
    if (best === undefined || spec > best.spec || (spec === best.spec && index > best.index)) best = { spec, index, password };
  });
  return best?.password ?? '';
}
