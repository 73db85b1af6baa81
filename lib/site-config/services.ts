import { z } from 'zod';
import { ArgumentsSchema } from './arguments.js';
import { strictObject } from './strict-object.js';
import { SuperviseSchema } from './supervise.js';
import { AgentClassSchema, NonEmptyTextSchema, expected } from './values.js';

/** How the orchestrator picks hosts for a service's instances. */
export const PLACEMENT = {
  NODES_ORDER: 'nodes-order',
  SPREAD: 'spread',
} as const;
export type Placement = (typeof PLACEMENT)[keyof typeof PLACEMENT];

/** The cluster-wide intent for a service. */
export const GLOBAL_EXPECT = {
  STARTED: 'started',
  STOPPED: 'stopped',
} as const;
export type GlobalExpect = (typeof GLOBAL_EXPECT)[keyof typeof GLOBAL_EXPECT];

/**
 * The instance-ids of a service: the service name when it has one instance, else
 * `<name>-1` … `<name>-<n>`.
 */
export function serviceInstanceIds(name: string, instances: number): string[] {
  if (instances === 1) return [name];
  return Array.from({ length: instances }, (_, i) => `${name}-${i + 1}`);
}

const enumOf = <T extends string>(values: readonly T[]) => z.enum(values as [T, ...T[]]);

/** One entry of the top-level `services:` block (ours, strict); keyed by service name. */
export const ServiceSchema = strictObject(
  {
    'agent-class': AgentClassSchema,
    instances: z
      .number({ error: expected('a whole number >= 1') })
      .int({ error: expected('a whole number >= 1') })
      .min(1, { error: expected('a whole number >= 1') })
      .default(1),
    hosts: z
      .array(NonEmptyTextSchema, { error: expected('a list of host names') })
      .min(1, { error: 'expected at least one host' })
      .refine((hosts) => new Set(hosts).size === hosts.length, { error: 'lists a host more than once' }),
    placement: enumOf(Object.values(PLACEMENT)).default(PLACEMENT.NODES_ORDER),
    arguments: ArgumentsSchema.default([]),
    global_expect: enumOf(Object.values(GLOBAL_EXPECT)).default(GLOBAL_EXPECT.STARTED),
    supervise: SuperviseSchema.optional(),
  },
  'a mapping describing the service',
)
  .superRefine((s, ctx) => {
    for (const key of ['requires', 'after'] as const) {
      if ((s.supervise?.[key]?.length ?? 0) > 0) {
        ctx.addIssue({ code: 'custom', path: ['supervise', key], message: `${key} orders agent instances of one host; a service's instances move between hosts and cannot have it` });
      }
    }
  })
  .transform((s) => ({
  agentClass: s['agent-class'],
  instances: s.instances,
  hosts: s.hosts,
  placement: s.placement,
  arguments: s.arguments,
  globalExpect: s.global_expect,
  supervise: s.supervise ?? {},
}));
export type ServiceConfig = z.infer<typeof ServiceSchema>;
