import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { CrossbarTimeoutTextSchema, HttpUrlSchema, InstanceIdSchema, NonEmptyTextSchema, WampUrlSchema, describeValue, expected } from './values.js';

/**
 * The one place that reads `process.env`. Everything else receives the parsed OcsEnv.
 * Empty (or blank) variables count as unset: compose files often write `SITE_HUB=`.
 */

/** Log levels as pino names them. */
export const LOG_LEVEL = {
  FATAL: 'fatal',
  ERROR: 'error',
  WARN: 'warn',
  INFO: 'info',
  DEBUG: 'debug',
  TRACE: 'trace',
  SILENT: 'silent',
} as const;
export type LogLevel = (typeof LOG_LEVEL)[keyof typeof LOG_LEVEL];

export const DEFAULT_LOG_LEVEL: LogLevel = LOG_LEVEL.INFO;

/** txaio's level names (what OCS's LOGLEVEL takes) and a few spellings, mapped to pino's. */
const LOG_LEVEL_ALIASES: Readonly<Record<string, LogLevel>> = {
  none: 'silent',
  critical: 'fatal',
  warning: 'warn',
  ...Object.fromEntries(Object.values(LOG_LEVEL).map((l) => [l, l])),
};

/** Parses a log level name (case-insensitive, txaio or pino spelling). */
export function parseLogLevel(text: string): LogLevel | undefined {
  const key = text.trim().toLowerCase();
  return Object.hasOwn(LOG_LEVEL_ALIASES, key) ? LOG_LEVEL_ALIASES[key] : undefined;
}

const LogLevelTextSchema = z.string().transform((s, ctx): LogLevel => {
  const level = parseLogLevel(s);
  if (level === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected one of ${Object.keys(LOG_LEVEL_ALIASES).join(', ')}, got ${describeValue(s)}` });
    return z.NEVER;
  }
  return level;
});

/** INFLUXDB_V2_TIMEOUT: whole milliseconds > 0, as influxdb_client's `from_env_properties()` reads it. */
const MillisecondsTextSchema = z
  .string()
  .regex(/^\s*\+?\d+\s*$/, { error: expected('a whole number of milliseconds > 0') })
  .transform((s) => Number(s.trim()))
  .refine((ms) => ms > 0, { error: expected('a whole number of milliseconds > 0') });

/** INFLUXDB_V2_VERIFY_SSL: true/false, yes/no or 1/0, any case. */
const BooleanTextSchema = z.string().transform((s, ctx): boolean => {
  const key = s.trim().toLowerCase();
  if (['true', 'yes', '1'].includes(key)) return true;
  if (['false', 'no', '0'].includes(key)) return false;
  ctx.addIssue({ code: 'custom', message: `expected true or false, got ${describeValue(s)}` });
  return z.NEVER;
});

const unsetIfBlank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(unsetIfBlank, schema.optional());

/** The variables OCS and this project read, validated; unknown variables are ignored. */
export const OcsEnvSchema = z
  .object({
    OCS_CONFIG_DIR: optional(NonEmptyTextSchema),
    INSTANCE_ID: optional(InstanceIdSchema),
    SITE_HUB: optional(WampUrlSchema),
    SITE_HTTP: optional(HttpUrlSchema),
    SITE_HOST: optional(NonEmptyTextSchema),
    CROSSBAR_TIMEOUT: optional(CrossbarTimeoutTextSchema),
    LOGLEVEL: optional(LogLevelTextSchema),
    OCS_LOG_LEVEL: optional(LogLevelTextSchema),
    OCS_PASSWORDS_FILE: optional(NonEmptyTextSchema),
    OCS_AGENT_TICKET: optional(NonEmptyTextSchema),
    OCS_IDENTITY_KEY_FILE: optional(NonEmptyTextSchema),
    INFLUXDB_USERNAME: optional(NonEmptyTextSchema),
    INFLUXDB_PASSWORD: optional(NonEmptyTextSchema),
    INFLUXDB_V2_URL: optional(HttpUrlSchema),
    INFLUXDB_V2_TOKEN: optional(NonEmptyTextSchema),
    INFLUXDB_V2_ORG: optional(NonEmptyTextSchema),
    INFLUXDB_V2_BUCKET: optional(NonEmptyTextSchema),
    INFLUXDB_V2_TIMEOUT: optional(MillisecondsTextSchema),
    INFLUXDB_V2_VERIFY_SSL: optional(BooleanTextSchema),
  })
  .transform((e) => ({
    /** Directory holding `<site>.yaml` (`--site NAME`, default `default`). */
    configDir: e.OCS_CONFIG_DIR,
    /** Default for `--instance-id`. */
    instanceId: e.INSTANCE_ID,
    /** Default for `--site-hub`. */
    siteHub: e.SITE_HUB,
    /** Default for `--site-http`. */
    siteHttp: e.SITE_HTTP,
    /** Default for `--site-host`. */
    siteHost: e.SITE_HOST,
    /** Default for `--crossbar-timeout`. */
    crossbarTimeoutS: e.CROSSBAR_TIMEOUT,
    /** OCS_LOG_LEVEL, else LOGLEVEL (OCS's name). */
    logLevel: e.OCS_LOG_LEVEL ?? e.LOGLEVEL,
    /** Client password file (OCS default `~/.ocs-passwords.yaml`). */
    passwordsFile: e.OCS_PASSWORDS_FILE,
    /** This agent's own ticket under agent identities (site-config/identities.ts). */
    agentTicket: e.OCS_AGENT_TICKET,
    /** The site's identity key file (ocs up's router side and HostManagers). */
    identityKeyFile: e.OCS_IDENTITY_KEY_FILE,
    /** InfluxDB 1.x user of the InfluxDB publisher (OCS's variable); unset ⇒ no authentication. */
    influxUsername: e.INFLUXDB_USERNAME,
    /** Its password (OCS's variable). */
    influxPassword: e.INFLUXDB_PASSWORD,
    /** InfluxDBAgentv2's server (`InfluxDBClient.from_env_properties()`), e.g. `http://influxdb:8086`. */
    influxV2Url: e.INFLUXDB_V2_URL,
    /** Its API token (for InfluxDB 1.8's 2.x API: `user:password`). */
    influxV2Token: e.INFLUXDB_V2_TOKEN,
    /** Its organisation. */
    influxV2Org: e.INFLUXDB_V2_ORG,
    /** Its bucket (OCS reads this one itself); on InfluxDB 1.8 `database` or `database/retention-policy`. */
    influxV2Bucket: e.INFLUXDB_V2_BUCKET,
    /** Its per-request timeout in ms (influxdb_client's default: 10 000). */
    influxV2TimeoutMs: e.INFLUXDB_V2_TIMEOUT,
    /** Whether it verifies TLS certificates (default true). */
    influxV2VerifySsl: e.INFLUXDB_V2_VERIFY_SSL,
  }));
export type OcsEnv = Readonly<z.infer<typeof OcsEnvSchema>>;

/** Names of the variables OcsEnvSchema reads. */
export const OCS_ENV_VARS = Object.keys(OcsEnvSchema.in.shape) as readonly string[];

/** Validates an environment record; a bad variable throws ConfigError naming it. */
export function parseEnv(source: Readonly<Record<string, string | undefined>>): OcsEnv {
  const parsed = OcsEnvSchema.safeParse(source);
  if (parsed.success) return Object.freeze(parsed.data);
  const issues = parsed.error.issues.map((i) => ({ variable: String(i.path[0]), message: i.message }));
  const first = issues[0] as { variable: string; message: string };
  throw new ConfigError(
    issues.map((i) => `environment variable ${i.variable}: ${i.message}`).join('\n'),
    { details: { variable: first.variable, issues } },
  );
}

/** Reads and validates this process's environment. */
export function readEnv(): OcsEnv {
  return parseEnv(process.env);
}

/**
 * The environment for a child process: this process's environment plus `extra` (an
 * undefined value removes the variable).
 */
export function childEnv(extra: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...extra })) if (v !== undefined) out[k] = v;
  return out;
}
