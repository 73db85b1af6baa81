/**
 * The cluster-wide intent for one service: a register that every HostManager keeps, publishes in
 * its placement feed and replaces with any newer one it receives, so that an operator's
 * `set_expect` / `relocate` on one host reaches every host (and survives restarts through the
 * snapshot).
 *
 * Order: `(gen, by, settled)`, compared in that order. A new operator request takes
 * `gen = max(gen seen) + 1`; concurrent requests on two hosts resolve to the one from the
 * greater host name. `settled` marks a move (placed / relocate) that a host saw completed or
 * cancelled; a settled copy of a register wins over the unsettled copy of the same request.
 */
import { z } from 'zod';
import { GLOBAL_EXPECT, type GlobalExpect } from '../site-config/services.js';
import { WireNumberSchema } from '../registry/agent-record.js';

/** `global_expect` values accepted at run time (`set_expect`); the site file takes started|stopped. */
export const RUNTIME_EXPECT = {
  ...GLOBAL_EXPECT,
  FROZEN: 'frozen',
  THAWED: 'thawed',
  PLACED: 'placed',
} as const;
export type RuntimeExpect = (typeof RUNTIME_EXPECT)[keyof typeof RUNTIME_EXPECT];
export const RUNTIME_EXPECT_VALUES = Object.values(RUNTIME_EXPECT) as [RuntimeExpect, ...RuntimeExpect[]];

/** What last changed a register. */
export const INTENT_OPS = ['config', ...RUNTIME_EXPECT_VALUES, 'relocate'] as const;
export type IntentOp = (typeof INTENT_OPS)[number];

const NodeNameSchema = z.string().min(1).max(255);

export const ServiceIntentSchema = z.object({
  /** The run intent: started everywhere it is placed, or stopped everywhere. */
  expect: z.enum([GLOBAL_EXPECT.STARTED, GLOBAL_EXPECT.STOPPED]),
  /** Frozen on every host (set_expect frozen): nobody acts for the service. */
  frozen: z.boolean(),
  /** A requested move: to one host (relocate) or, with `to: null`, to the best-ranked hosts (placed). */
  move: z.object({ to: NodeNameSchema.nullable() }).nullable(),
  op: z.enum(INTENT_OPS),
  gen: WireNumberSchema.pipe(z.int().nonnegative()),
  by: z.string().max(255),
  /** The move is over (done or cancelled). */
  settled: z.boolean(),
});
export type ServiceIntent = z.infer<typeof ServiceIntentSchema>;

/** The register a host starts from: the site file's `global_expect`, generation 0. */
export function initialIntent(globalExpect: GlobalExpect): ServiceIntent {
  return { expect: globalExpect, frozen: false, move: null, op: 'config', gen: 0, by: '', settled: true };
}

/** Whether `a` is newer than `b`. */
export function isNewerIntent(a: ServiceIntent, b: ServiceIntent): boolean {
  if (a.gen !== b.gen) return a.gen > b.gen;
  if (a.by !== b.by) return a.by > b.by;
  return a.settled && !b.settled;
}

/** The register after an operator request made on host `by`, given the greatest generation seen. */
export function requestIntent(
  current: ServiceIntent,
  request: { op: RuntimeExpect } | { op: 'relocate'; to: string },
  by: string,
  maxGenSeen: number,
): ServiceIntent {
  // freeze / thaw leave a pending move pending
  const next: ServiceIntent = { ...current, op: request.op, gen: Math.max(maxGenSeen, current.gen) + 1, by };
  switch (request.op) {
    case RUNTIME_EXPECT.STARTED:
    case RUNTIME_EXPECT.STOPPED:
      return { ...next, expect: request.op, move: null, settled: true };
    case RUNTIME_EXPECT.FROZEN:
      return { ...next, frozen: true };
    case RUNTIME_EXPECT.THAWED:
      return { ...next, frozen: false };
    case RUNTIME_EXPECT.PLACED:
      return { ...next, expect: GLOBAL_EXPECT.STARTED, move: { to: null }, settled: false };
    case 'relocate':
      return { ...next, expect: GLOBAL_EXPECT.STARTED, move: { to: request.to }, settled: false };
  }
}

/** The `global_expect` shown for a register (session data). */
export function displayedExpect(intent: ServiceIntent): RuntimeExpect {
  if (intent.frozen) return RUNTIME_EXPECT.FROZEN;
  if (intent.expect === GLOBAL_EXPECT.STOPPED) return RUNTIME_EXPECT.STOPPED;
  if (intent.move !== null && !intent.settled && intent.move.to === null) return RUNTIME_EXPECT.PLACED;
  return RUNTIME_EXPECT.STARTED;
}
