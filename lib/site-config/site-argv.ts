import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { AccessPolicySchema, type AccessPolicy } from './access-policy.js';
import { groupArguments } from './arguments.js';
import {
  AddressRootSchema,
  CrossbarTimeoutTextSchema,
  HttpUrlSchema,
  InstanceIdSchema,
  NonEmptyTextSchema,
  RealmSchema,
  WampUrlSchema,
} from './values.js';

/** The site-config flags every agent accepts (OCS `site_config.add_arguments`). */
export const SITE_FLAGS = {
  site: '--site',
  siteFile: '--site-file',
  siteHost: '--site-host',
  siteHub: '--site-hub',
  siteHttp: '--site-http',
  siteRealm: '--site-realm',
  instanceId: '--instance-id',
  addressRoot: '--address-root',
  registryAddress: '--registry-address',
  logDir: '--log-dir',
  workingDir: '--working-dir',
  crossbarTimeoutS: '--crossbar-timeout',
  accessPolicy: '--access-policy',
} as const;
export type SiteFlagKey = keyof typeof SITE_FLAGS;
export type SiteFlagName = (typeof SITE_FLAGS)[SiteFlagKey];

/** Flags that choose the file, host or instance; a site file's `arguments:` may not set them. */
export const LOOKUP_FLAGS: readonly SiteFlagName[] = [SITE_FLAGS.site, SITE_FLAGS.siteFile, SITE_FLAGS.siteHost, SITE_FLAGS.instanceId];

const VALUE_SCHEMAS = {
  site: NonEmptyTextSchema,
  siteFile: NonEmptyTextSchema,
  siteHost: NonEmptyTextSchema,
  siteHub: WampUrlSchema,
  siteHttp: HttpUrlSchema,
  siteRealm: RealmSchema,
  instanceId: InstanceIdSchema,
  addressRoot: AddressRootSchema,
  registryAddress: z.string(),
  logDir: NonEmptyTextSchema,
  workingDir: NonEmptyTextSchema,
  crossbarTimeoutS: CrossbarTimeoutTextSchema,
  accessPolicy: AccessPolicySchema,
} satisfies Record<SiteFlagKey, z.ZodType>;

/** Parsed site-config flags; absent flags are absent. `--registry-address` is accepted and dropped. */
export interface SiteFlags {
  site?: string;
  siteFile?: string;
  siteHost?: string;
  siteHub?: string;
  siteHttp?: string;
  siteRealm?: string;
  instanceId?: string;
  addressRoot?: string;
  logDir?: string;
  workingDir?: string;
  crossbarTimeoutS?: number;
  accessPolicy?: AccessPolicy;
}

export interface SiteArgv {
  readonly flags: Readonly<SiteFlags>;
  /** Every other token, in order (the agent's own arguments). */
  readonly rest: readonly string[];
}

export interface SiteArgvProblem {
  readonly flag: SiteFlagName;
  readonly message: string;
}

const KEY_BY_FLAG = new Map<string, SiteFlagKey>(Object.entries(SITE_FLAGS).map(([k, f]) => [f, k as SiteFlagKey]));

/** True if the token group's flag is one of SITE_FLAGS. */
export function isSiteFlag(flag: string | null): flag is SiteFlagName {
  return flag !== null && KEY_BY_FLAG.has(flag);
}

/**
 * Splits argv into the site-config flags and the rest, validating the flags' values.
 * Tokens are grouped by OCS's rule (a token is a flag if `-` + letter), so the agent's own
 * flags pass through untouched whatever their arity. A site flag takes one value; further
 * values after it are positional and stay in `rest`. Returns problems instead of throwing.
 */
export function checkSiteArgv(argv: readonly string[]): SiteArgv & { readonly problems: readonly SiteArgvProblem[] } {
  const rest: string[] = [];
  const normalized: string[] = [];
  const problems: SiteArgvProblem[] = [];
  for (const group of groupArguments(argv)) {
    if (!isSiteFlag(group.flag)) {
      rest.push(...group.tokens);
      continue;
    }
    const [value, ...extra] = group.values;
    if (value === undefined) {
      problems.push({ flag: group.flag, message: 'missing value' });
      continue;
    }
    // The `--flag=value` form keeps values that start with a dash away from parseArgs' option test.
    normalized.push(`${group.flag}=${value}`);
    // As with argparse, a site flag takes one value; what follows is positional.
    rest.push(...extra);
  }
  const options = Object.fromEntries(Object.values(SITE_FLAGS).map((f) => [f.slice(2), { type: 'string' as const }]));
  const { values } = parseArgs({ args: normalized, options, strict: true, allowPositionals: false });
  const flags: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(values)) {
    const flag = `--${name}` as SiteFlagName;
    const key = KEY_BY_FLAG.get(flag) as SiteFlagKey;
    const parsed = VALUE_SCHEMAS[key].safeParse(raw);
    if (!parsed.success) {
      problems.push({ flag, message: parsed.error.issues[0]?.message ?? 'invalid value' });
      continue;
    }
    if (key !== 'registryAddress') flags[key] = parsed.data;
  }
  return { flags: flags as SiteFlags, rest, problems };
}

/** As checkSiteArgv, but a bad value throws a ConfigError naming the flag (the first one). */
export function parseSiteArgv(argv: readonly string[]): SiteArgv {
  const { flags, rest, problems } = checkSiteArgv(argv);
  const first = problems[0];
  if (first !== undefined) {
    throw new ConfigError(`${first.flag}: ${first.message}`, { details: { flag: first.flag, issues: problems } });
  }
  return { flags, rest };
}
