import { z } from 'zod';
import { flagBoolean } from '../../lib/agent/agent-args.js';

/** Seconds as a positive finite number (site files and the command line pass strings). */
const positiveSeconds = z.coerce.number().refine((s) => Number.isFinite(s) && s > 0, { message: 'must be a number of seconds > 0' });

/** The state directory when `--state-dir` is not given: `state` under the working directory. */
export const DEFAULT_STATE_DIR = 'state';

/**
 * HostManager's own arguments (site-file `arguments:` of its instance, merged with the command
 * line). `--initial-state` is OCS's (`up`/`down`; ours adds `keep`, the default: the persisted
 * desired state). OCS's docker options are accepted so an OCS site file still loads; docker
 * entries are not run by this HostManager.
 */
export const HostManagerArgsSchema = z
  .object({
    /** State file, lock, history and (without --log-dir) the children's log files. Relative: to --working-dir. */
    state_dir: z.string().min(1).default(DEFAULT_STATE_DIR),
    /** 0..99: several HostManagers on one host, each with its own state files and lock. */
    instance_index: z.coerce.number().int().min(0).max(99).default(0),
    /** Lets `create` (and `open` with a command) run arbitrary commands. Off by default. */
    allow_exec: flagBoolean.default(false),
    /** keep: the persisted desired state; up/down: force every child's target at startup. */
    initial_state: z.enum(['keep', 'up', 'down']).default('keep'),
    /** Instance id of the Registry whose heartbeat table gives readiness and liveness. */
    registry_id: z.string().min(1).default('registry'),
    /** What a shutdown (SIGINT/SIGTERM, stopping `manager`) does with the children. */
    on_exit: z.enum(['stop', 'disown']).default('stop'),
    /** Seconds between `/proc` polls of re-adopted children. */
    poll_interval: positiveSeconds.default(1),
    /** Seconds between /proc samples of the children's memory and CPU (child_states rss_bytes, cpu_percent; memory-max and cpu-max); 0 turns it off. */
    resource_interval: z.coerce.number().min(0).refine(Number.isFinite, 'expected a number of seconds').default(1),
    /** Seconds a child's CPU share is averaged over before cpu-max applies. */
    cpu_window: positiveSeconds.default(5),
    /** auto: memory-max and cpu-max by the kernel (cgroup v2) when this process has a delegated subtree; off: by sampling. */
    cgroups: z.enum(['auto', 'off']).default('auto'),
    /** The child_states feed is published on every change and at least this often (seconds). */
    feed_interval: positiveSeconds.default(5),
    /** A heartbeat-ready child without a heartbeat for this long is expired when no registry runs (seconds). */
    agent_timeout: positiveSeconds.default(5),
    /** Orchestrator (site file with services:): a host must be not alive this long before its instances fail over (seconds; default 5). */
    failover_grace: positiveSeconds.optional(),
    /** Orchestrator: between a claim and the start of an instance (seconds; default 3). */
    ready_period: positiveSeconds.optional(),
    docker_compose: z.string().optional(),
    docker_service_prefix: z.string().optional(),
    docker_compose_bin: z.string().optional(),
    quiet: flagBoolean.optional(),
    /** Serves Prometheus metrics at http://HOST:PORT/metrics (off when absent; 0 picks a port). */
    metrics_port: z.coerce.number().int().min(0).max(65535).optional(),
    /** Address the metrics endpoint binds to (default 127.0.0.1). */
    metrics_host: z.string().min(1).optional(),
    /**
     * Raises the credential level of ops under an access policy: `kill=4,create=4` (levels 1–4;
     * an op keeps its default when that is higher). Unknown op names are refused.
     */
    op_privs: z
      .string()
      .optional()
      .transform((text, ctx): Readonly<Record<string, number>> => {
        const out: Record<string, number> = {};
        for (const item of (text ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '')) {
          const m = /^([A-Za-z_][\w-]*)=([1-4])$/.exec(item);
          if (m === null) {
            ctx.addIssue({ code: 'custom', message: `expected op=level pairs such as kill=4,create=4 (levels 1-4), got '${item}'` });
            return z.NEVER;
          }
          out[m[1]!] = Number(m[2]);
        }
        return out;
      }),
  })
  .strict();

export type HostManagerArgs = z.infer<typeof HostManagerArgsSchema>;
