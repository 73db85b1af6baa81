import { z } from 'zod';

/** Access-control policies an agent starts with (ocs-protocol.md §7.1). */
export const ACCESS_POLICY = {
  NONE: 'none',
  OVERRIDE: 'override',
  DIRECTOR: 'director',
} as const;
export type AccessPolicyName = (typeof ACCESS_POLICY)[keyof typeof ACCESS_POLICY];

/** The Access Director instance-id used by a bare `director:`. */
export const DEFAULT_DIRECTOR_ID = 'access-director';

export type AccessPolicy =
  | { readonly policy: 'none' }
  | { readonly policy: 'override'; readonly password2: string; readonly password3: string }
  | { readonly policy: 'director'; readonly directorId: string };

const POLICY_SYNTAX = "expected none, director:<instance-id> or override:<password2>,<password3>";

/**
 * Parses the OCS policy string (`hub.access_policy`, `--access-policy`). Absent, empty and
 * `none` mean no access control. Messages never repeat the value: it may hold passwords.
 */
export function parseAccessPolicy(text: string | null | undefined): AccessPolicy | { readonly error: string } {
  if (text === null || text === undefined || text === '' || text === ACCESS_POLICY.NONE) return { policy: 'none' };
  const colon = text.indexOf(':');
  if (colon < 0) return { error: POLICY_SYNTAX };
  const name = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (name === ACCESS_POLICY.DIRECTOR) {
    const directorId = rest === '' ? DEFAULT_DIRECTOR_ID : rest;
    if (!/^[^\s#.]+$/.test(directorId)) return { error: "director:<instance-id> needs an instance-id without '.', '#' or spaces" };
    return { policy: 'director', directorId };
  }
  if (name === ACCESS_POLICY.OVERRIDE) {
    const passwords = rest.split(',');
    if (passwords.length !== 2) return { error: 'override:<password2>,<password3> needs exactly two comma-separated passwords' };
    return { policy: 'override', password2: passwords[0] as string, password3: passwords[1] as string };
  }
  return { error: POLICY_SYNTAX };
}

/** The policy string OCS agents accept, e.g. for a child's `--access-policy`. */
export function formatAccessPolicy(policy: AccessPolicy): string {
  switch (policy.policy) {
    case 'none':
      return ACCESS_POLICY.NONE;
    case 'director':
      return `${ACCESS_POLICY.DIRECTOR}:${policy.directorId}`;
    case 'override':
      return `${ACCESS_POLICY.OVERRIDE}:${policy.password2},${policy.password3}`;
  }
}

/** Validates a policy string (or null/absent) and yields the parsed policy. */
export const AccessPolicySchema = z
  .union([z.string(), z.null()], { error: 'expected a policy string such as director:access-dir' })
  .optional()
  .transform((text, ctx): AccessPolicy => {
    const parsed = parseAccessPolicy(text);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    }
    return parsed;
  });
