import type { z } from 'zod';
import { InfluxPublisherArgsSchema } from '../../lib/influx/influx-publisher.js';
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

/** InfluxDB 1.x credentials from INFLUXDB_USERNAME / INFLUXDB_PASSWORD; none ⇒ no authentication. */
export function influxCredentials(env: Pick<OcsEnv, 'influxUsername' | 'influxPassword'>): { username: string; password: string } | undefined {
  if (env.influxUsername === undefined) return undefined;
  return { username: env.influxUsername, password: env.influxPassword ?? '' };
}
