import { z } from 'zod';
import { AGENT_EXPIRY_MS, AGENT_RETENTION_MS, MAX_TRACKED_AGENTS } from '../../lib/registry/liveness-tracker-options.js';

/** Seconds as a positive finite number (site files and the command line pass strings). */
const positiveSeconds = z.coerce.number().refine((s) => Number.isFinite(s) && s > 0, { message: 'must be a number of seconds > 0' });

/** Seconds >= 0, or `never`/`inf` for no limit. */
const retentionSeconds = z
  .union([z.enum(['never', 'inf', 'infinity']).transform(() => Infinity), z.coerce.number().refine((s) => Number.isFinite(s) && s >= 0, { message: 'must be seconds >= 0, or never' })]);

/**
 * RegistryAgent's own arguments. `--wait-time` is OCS's (the `agent_operations` republish period);
 * the others are this registry's additions, all in seconds.
 */
export const RegistryArgsSchema = z
  .object({
    /** Every agent's op codes are republished on `agent_operations` this often (OCS default 30). */
    wait_time: positiveSeconds.default(30),
    /** No heartbeat for this long ⇒ expired (OCS: 5). Floats are fine (tests shrink it). */
    agent_timeout: positiveSeconds.default(AGENT_EXPIRY_MS / 1000),
    /** Expired agents are forgotten this long after they expired (`never` keeps them, as OCS). */
    retention: retentionSeconds.default(AGENT_RETENTION_MS / 1000),
    /** At most this many agents are tracked (bounds memory whatever peers send). */
    max_agents: z.coerce.number().int().min(1).default(MAX_TRACKED_AGENTS),
    /** Keeps the table (expired agents included) across restarts when set. */
    state_file: z.string().min(1).optional(),
    /** The state file is rewritten at least this often while agents beat (and within 1 s of a change). */
    state_save_interval: positiveSeconds.default(10),
    /** Serves Prometheus metrics at http://HOST:PORT/metrics (off when absent; 0 picks a port). */
    metrics_port: z.coerce.number().int().min(0).max(65535).optional(),
    /** Address the metrics endpoint binds to (default loopback). */
    metrics_host: z.string().min(1).default('127.0.0.1'),
  })
  .strict();

export type RegistryArgs = z.infer<typeof RegistryArgsSchema>;
