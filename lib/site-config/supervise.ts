import { constants } from 'node:os';
import { z } from 'zod';
import { strictObject } from './strict-object.js';
import { parseByteSize, parsePercent } from './resource-sizes.js';
import { InstanceIdSchema, describeValue, expected } from './values.js';

/** When the supervisor restarts an exited instance. */
export const RESTART_POLICY = {
  ALWAYS: 'always',
  ON_FAILURE: 'on-failure',
  NEVER: 'never',
} as const;
export type RestartPolicyName = (typeof RESTART_POLICY)[keyof typeof RESTART_POLICY];

const SIGNAL_NAMES: readonly string[] = Object.keys(constants.signals);

const seconds = (min: 'zero' | 'positive') =>
  z
    .number({ error: expected(min === 'zero' ? 'a number of seconds >= 0' : 'a number of seconds > 0') })
    .refine((n) => (min === 'zero' ? n >= 0 : n > 0) && Number.isFinite(n), {
      error: expected(min === 'zero' ? 'a number of seconds >= 0' : 'a number of seconds > 0'),
    });

/**
 * Per-instance supervisor settings (`supervise:` under an agent instance or a service). Ours,
 * so strict: a misspelt key fails. Every key is optional and has no default here; the
 * supervisor's restart policy owns the defaults. OCS ignores the whole block.
 *
 * Limits (systemd's names in brackets): `memory-max` [MemoryMax=], `cpu-max` [CPUQuota=],
 * `nofile` [LimitNOFILE=]. Ordering between instances of one host: `after` [After=] orders the
 * start, `requires` [Requires= with After=] also stops the dependant when the requirement stops
 * for good; `dependency-timeout-s` bounds the wait [JobTimeoutSec=].
 */
export const SuperviseSchema = strictObject(
  {
    restart: z.enum(Object.values(RESTART_POLICY) as [RestartPolicyName, ...RestartPolicyName[]]).optional(),
    'min-uptime-s': seconds('zero').optional(),
    'max-failures': z
      .union([z.number().int().min(0), z.null()], { error: expected('a whole number >= 0, or null for no limit') })
      .optional(),
    'failure-window-s': seconds('positive').optional(),
    'backoff-initial-s': seconds('zero').optional(),
    'backoff-max-s': seconds('zero').optional(),
    'stop-signal': z
      .string({ error: expected('a signal name such as SIGINT') })
      .refine((s) => SIGNAL_NAMES.includes(s), { error: (issue) => `expected a signal name such as SIGINT or SIGTERM, got ${describeValue(issue.input)}` })
      .optional(),
    'stop-timeout-s': seconds('positive').optional(),
    'restart-on-expired': z.boolean({ error: expected('true or false') }).optional(),
    'memory-max': z
      .unknown()
      .refine((v) => parseByteSize(v) !== null, { error: (issue) => `expected a size in bytes or with a K, M or G suffix such as 512M, got ${describeValue(issue.input)}` })
      .optional(),
    'cpu-max': z
      .unknown()
      .refine((v) => parsePercent(v) !== null, { error: (issue) => `expected a percentage of one core such as 80%, got ${describeValue(issue.input)}` })
      .optional(),
    nofile: z
      .number({ error: expected('a whole number of open files >= 16') })
      .int({ error: expected('a whole number of open files >= 16') })
      .min(16, { error: expected('a whole number of open files >= 16') })
      .optional(),
    requires: z.array(InstanceIdSchema, { error: expected('a list of instance ids of this host') }).optional(),
    after: z.array(InstanceIdSchema, { error: expected('a list of instance ids of this host') }).optional(),
    'dependency-timeout-s': seconds('positive').optional(),
  },
  'a mapping of supervisor settings',
)
  .superRefine((s, ctx) => {
    const initial = s['backoff-initial-s'];
    const max = s['backoff-max-s'];
    if (initial !== undefined && max !== undefined && max < initial) {
      ctx.addIssue({ code: 'custom', path: ['backoff-max-s'], message: `must be >= backoff-initial-s (${initial}), got ${max}` });
    }
  })
  .transform((s) => {
    const out: {
      restart?: RestartPolicyName;
      minUptimeS?: number;
      maxFailures?: number | null;
      failureWindowS?: number;
      backoffInitialS?: number;
      backoffMaxS?: number;
      stopSignal?: NodeJS.Signals;
      stopTimeoutS?: number;
      restartOnExpired?: boolean;
      memoryMaxBytes?: number;
      cpuMaxPercent?: number;
      nofile?: number;
      requires?: readonly string[];
      after?: readonly string[];
      dependencyTimeoutS?: number;
    } = {};
    if (s.restart !== undefined) out.restart = s.restart;
    if (s['min-uptime-s'] !== undefined) out.minUptimeS = s['min-uptime-s'];
    if (s['max-failures'] !== undefined) out.maxFailures = s['max-failures'];
    if (s['failure-window-s'] !== undefined) out.failureWindowS = s['failure-window-s'];
    if (s['backoff-initial-s'] !== undefined) out.backoffInitialS = s['backoff-initial-s'];
    if (s['backoff-max-s'] !== undefined) out.backoffMaxS = s['backoff-max-s'];
    if (s['stop-signal'] !== undefined) out.stopSignal = s['stop-signal'] as NodeJS.Signals;
    if (s['stop-timeout-s'] !== undefined) out.stopTimeoutS = s['stop-timeout-s'];
    if (s['restart-on-expired'] !== undefined) out.restartOnExpired = s['restart-on-expired'];
    if (s['memory-max'] !== undefined) out.memoryMaxBytes = parseByteSize(s['memory-max']) as number;
    if (s['cpu-max'] !== undefined) out.cpuMaxPercent = parsePercent(s['cpu-max']) as number;
    if (s.nofile !== undefined) out.nofile = s.nofile;
    if (s.requires !== undefined) out.requires = [...new Set(s.requires)];
    if (s.after !== undefined) out.after = [...new Set(s.after)];
    if (s['dependency-timeout-s'] !== undefined) out.dependencyTimeoutS = s['dependency-timeout-s'];
    return out;
  });
export type Supervise = z.infer<typeof SuperviseSchema>;
