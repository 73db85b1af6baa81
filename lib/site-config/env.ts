import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { CrossbarTimeoutTextSchema, HttpUrlSchema, InstanceIdSchema, NonEmptyTextSchema, WampUrlSchema, describeValue } from './values.js';

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
    INFLUXDB_USERNAME: optional(NonEmptyTextSchema),
    INFLUXDB_PASSWORD: optional(NonEmptyTextSchema),
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
    /** InfluxDB 1.x user of the InfluxDB publisher (OCS's variable); unset ⇒ no authentication. */
    influxUsername: e.INFLUXDB_USERNAME,
    /** Its password (OCS's variable). */
    influxPassword: e.INFLUXDB_PASSWORD,
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
