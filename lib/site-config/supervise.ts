import { constants } from 'node:os';
import { z } from 'zod';
import { strictObject } from './strict-object.js';
import { describeValue, expected } from './values.js';

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
    return out;
  });
export type Supervise = z.infer<typeof SuperviseSchema>;
