import type { z } from 'zod';
import { ConfigError } from '../../lib/errors.js';
import { InfluxPublisherArgsSchema, type InfluxConnection } from '../../lib/influx/influx-publisher.js';
import type { OcsEnv } from '../../lib/site-config/env.js';

export { InfluxPublisherArgsSchema, type InfluxPublisherArgs } from '../../lib/influx/influx-publisher.js';

/**
 * InfluxDBAgent's own arguments: OCS's (`--initial-state`, `--host`, `--port`, `--database`,
 * `--protocol`, `--ssl`, `--verify-ssl`, `--gzip`), the buffer settings (`--max-batch-points`,
 * `--max-buffer-points`, `--flush-interval` s, `--backoff-cap` s) and, for InfluxDB 2.x,
 * `--org`, `--bucket` and `--token` together.
 */
export const InfluxDBAgentArgsSchema = InfluxPublisherArgsSchema.superRefine((args, ctx) => {
  const v2 = { org: args.org, bucket: args.bucket, token: args.token };
  const given = Object.entries(v2).filter(([, v]) => v !== undefined);
  if (given.length === 0 || given.length === 3) return;
  for (const [key, value] of Object.entries(v2)) {
    if (value === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'InfluxDB 2.x needs --org, --bucket and --token together' });
  }
});
export type InfluxDBAgentArgs = z.infer<typeof InfluxDBAgentArgsSchema>;

/**
 * InfluxDBAgentv2's arguments: OCS's (`--initial-state`, `--protocol`, `--gzip`), the same buffer
 * settings as InfluxDBAgent, and `--org`, `--bucket`, `--token`, each overriding its
 * environment variable. The server comes from INFLUXDB_V2_URL only: InfluxDBAgent's `--host`,
 * `--port`, `--database`, `--ssl` and `--verify-ssl` are refused, as OCS refuses them.
 */
export const InfluxDBAgentv2ArgsSchema = InfluxPublisherArgsSchema.omit({ host: true, port: true, database: true, ssl: true, verify_ssl: true });
export type InfluxDBAgentv2Args = z.infer<typeof InfluxDBAgentv2ArgsSchema>;

/** InfluxDB 1.x credentials from INFLUXDB_USERNAME / INFLUXDB_PASSWORD; none ⇒ no authentication. */
export function influxCredentials(env: Pick<OcsEnv, 'influxUsername' | 'influxPassword'>): { username: string; password: string } | undefined {
  if (env.influxUsername === undefined) return undefined;
  return { username: env.influxUsername, password: env.influxPassword ?? '' };
}

export type InfluxV2Env = Pick<OcsEnv, 'influxV2Url' | 'influxV2Token' | 'influxV2Org' | 'influxV2Bucket' | 'influxV2TimeoutMs' | 'influxV2VerifySsl'>;

/**
 * InfluxDBAgentv2's target, as OCS finds it: `InfluxDBClient.from_env_properties()`
 * (INFLUXDB_V2_URL, INFLUXDB_V2_TOKEN, INFLUXDB_V2_ORG, optional INFLUXDB_V2_TIMEOUT ms and
 * INFLUXDB_V2_VERIFY_SSL) plus INFLUXDB_V2_BUCKET; `--token`, `--org` and `--bucket` win over
 * their variables. Throws a ConfigError naming every required variable that is unset (and not
 * stood in for by its argument).
 */
export function influxV2Connection(env: InfluxV2Env, args: Pick<InfluxDBAgentv2Args, 'org' | 'bucket' | 'token'>): InfluxConnection {
  const url = env.influxV2Url;
  const token = args.token ?? env.influxV2Token;
  const org = args.org ?? env.influxV2Org;
  const bucket = args.bucket ?? env.influxV2Bucket;
  const missing = [
    url === undefined ? 'INFLUXDB_V2_URL' : undefined,
    token === undefined ? 'INFLUXDB_V2_TOKEN' : undefined,
    org === undefined ? 'INFLUXDB_V2_ORG' : undefined,
    bucket === undefined ? 'INFLUXDB_V2_BUCKET' : undefined,
  ].filter((name): name is string => name !== undefined);
  if (url === undefined || token === undefined || org === undefined || bucket === undefined) {
    throw new ConfigError(
      `InfluxDBAgentv2: environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set ` +
        '(its InfluxDB 2.x target: INFLUXDB_V2_URL, INFLUXDB_V2_TOKEN, INFLUXDB_V2_ORG and INFLUXDB_V2_BUCKET; --token, --org and --bucket may replace theirs)',
      { details: { variables: missing } },
    );
  }
  return {
    target: { version: 2, url, org, bucket, token },
    ...(env.influxV2TimeoutMs !== undefined ? { requestTimeoutMs: env.influxV2TimeoutMs } : {}),
    ...(env.influxV2VerifySsl !== undefined ? { shouldVerifySsl: env.influxV2VerifySsl } : {}),
  };
}
