import { z } from 'zod';
import { AccessPolicySchema } from './access-policy.js';
import { dependencyProblems } from './dependencies.js';
import { ArgumentsSchema, groupArguments } from './arguments.js';
import type { DeepReadonly } from './deep-freeze.js';
import { ManageSchema } from './manage.js';
import { ServiceSchema, serviceInstanceIds } from './services.js';
import { LOOKUP_FLAGS, checkSiteArgv } from './site-argv.js';
import { strictObject } from './strict-object.js';
import { SuperviseSchema } from './supervise.js';
import {
  AddressRootSchema,
  AgentClassSchema,
  CrossbarTimeoutSchema,
  HttpUrlSchema,
  InstanceIdSchema,
  NonEmptyTextSchema,
  RealmSchema,
  WampUrlSchema,
  expected,
} from './values.js';

/** Seconds an agent waits for the router to come back before it stops (OCS default). */
export const DEFAULT_CROSSBAR_TIMEOUT_S = 10;

/** The host entry that matches any host without an entry of its own. */
export const FALLBACK_HOST = 'localhost';

/**
 * `hub:`: where agents and clients connect. Strict: OCS's keys plus `registry_address`, which
 * OCS accepts and ignores (deprecated), as do we, and our `identities` (OCS ignores it).
 */
export const HubSchema = strictObject(
  {
    wamp_server: WampUrlSchema,
    wamp_http: HttpUrlSchema.nullable().optional(),
    wamp_realm: RealmSchema,
    address_root: AddressRootSchema,
    access_policy: AccessPolicySchema,
    registry_address: z.string({ error: expected('a string') }).nullable().optional(),
    /** the safe profile: every agent joins with its own identity (site-config/identities.ts) */
    identities: z.boolean({ error: expected('true or false') }).optional(),
  },
  'a mapping with wamp_server, wamp_realm and address_root',
).transform((h) => ({
  wampServer: h.wamp_server,
  wampHttp: h.wamp_http ?? null,
  wampRealm: h.wamp_realm,
  addressRoot: h.address_root,
  accessPolicy: h.access_policy,
  identities: h.identities ?? false,
}));
export type HubConfig = DeepReadonly<z.infer<typeof HubSchema>>;

/**
 * One entry of a host's `agent-instances:`. Strict: OCS's keys plus our `supervise:` (OCS
 * ignores unknown instance keys, so the file stays usable by OCS).
 */
export const InstanceSchema = strictObject(
  {
    'agent-class': AgentClassSchema,
    'instance-id': InstanceIdSchema,
    arguments: ArgumentsSchema.default([]),
    manage: ManageSchema,
    supervise: SuperviseSchema.optional(),
  },
  'a mapping with agent-class and instance-id',
)
  .superRefine((inst, ctx) => {
    for (const group of groupArguments(inst.arguments)) {
      if (group.flag !== null && (LOOKUP_FLAGS as readonly string[]).includes(group.flag)) {
        ctx.addIssue({ code: 'custom', path: ['arguments'], message: `${group.flag} cannot be set in a site file's arguments` });
      }
    }
    for (const problem of checkSiteArgv(inst.arguments).problems) {
      ctx.addIssue({ code: 'custom', path: ['arguments'], message: `${problem.flag}: ${problem.message}` });
    }
  })
  .transform((i) => ({
    agentClass: i['agent-class'],
    instanceId: i['instance-id'],
    arguments: i.arguments,
    manage: i.manage,
    supervise: i.supervise ?? {},
  }));
export type InstanceConfig = DeepReadonly<z.infer<typeof InstanceSchema>>;

/** `crossbar:` under a host: OCS's, unused here; known keys are type-checked, others kept out. */
const CrossbarSchema = z
  .looseObject({
    'config-dir': z.string({ error: expected('a path') }).optional(),
    bin: z.string({ error: expected('a path') }).optional(),
  })
  .nullable()
  .optional()
  .transform((c) => (c === null || c === undefined ? null : { configDir: c['config-dir'] ?? null, bin: c.bin ?? null }));

/**
 * One entry of `hosts:` (a hostname, a pseudo-host such as `ocs-docker`, or `localhost`).
 * Strict: OCS's keys, plus the legacy `agent-paths` (ignored) and `crossbar-timeout`, the
 * spelling OCS's docs use for `crossbar_timeout` (honoured here; OCS itself ignores it).
 */
export const HostSchema = strictObject(
  {
    'agent-instances': z.array(InstanceSchema, { error: expected('a list of agent instances') }),
    'log-dir': NonEmptyTextSchema.nullable().optional(),
    crossbar: CrossbarSchema,
    crossbar_timeout: CrossbarTimeoutSchema.optional(),
    'crossbar-timeout': CrossbarTimeoutSchema.optional(),
    wamp_server: WampUrlSchema.optional(),
    wamp_http: HttpUrlSchema.optional(),
    wamp_realm: RealmSchema.optional(),
    'agent-paths': z.unknown().optional(),
  },
  "a mapping with 'agent-instances'",
)
  .superRefine((h, ctx) => {
    // Cross-field checks need every entry transformed, which only happens when all are valid.
    if (ctx.issues.length > 0) return;
    const a = h.crossbar_timeout;
    const b = h['crossbar-timeout'];
    if (a !== undefined && b !== undefined && a !== b) {
      ctx.addIssue({ code: 'custom', path: ['crossbar-timeout'], message: `conflicts with crossbar_timeout (${a}); give one of them` });
    }
    const seen = new Map<string, number>();
    h['agent-instances'].forEach((inst, index) => {
      const first = seen.get(inst.instanceId);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['agent-instances', index, 'instance-id'],
          message: `duplicate instance-id '${inst.instanceId}' (also agent-instances[${first}])`,
        });
      } else seen.set(inst.instanceId, index);
    });
    const nodes = h['agent-instances'].map((inst) => ({ id: inst.instanceId, requires: inst.supervise.requires ?? [], after: inst.supervise.after ?? [] }));
    for (const problem of dependencyProblems(nodes)) {
      const index = h['agent-instances'].findIndex((inst) => inst.instanceId === problem.id);
      ctx.addIssue({ code: 'custom', path: ['agent-instances', index, 'supervise', problem.key], message: problem.message });
    }
  })
  .transform((h) => ({
    agentInstances: h['agent-instances'],
    logDir: h['log-dir'] ?? null,
    crossbar: h.crossbar,
    crossbarTimeoutS: h.crossbar_timeout ?? h['crossbar-timeout'] ?? DEFAULT_CROSSBAR_TIMEOUT_S,
    wampServer: h.wamp_server ?? null,
    wampHttp: h.wamp_http ?? null,
    wampRealm: h.wamp_realm ?? null,
  }));
export type HostConfig = DeepReadonly<z.infer<typeof HostSchema>>;

const mapping = (what: string) => ({ error: expected(what) });

/** Top-level keys starting with `x-` are free, e.g. to hold YAML anchors (as in compose files). */
const dropExtensionKeys = (data: unknown) =>
  data !== null && typeof data === 'object' && !Array.isArray(data)
    ? Object.fromEntries(Object.entries(data).filter(([k]) => !k.startsWith('x-')))
    : data;

/**
 * The whole site file. Top level strict: `hub` (required), `hosts` (optional, as in OCS:
 * a client-only file may have none), our `services` (optional) and `x-*` extension keys.
 */
const SiteFileSchema = strictObject(
  {
    hub: HubSchema,
    hosts: z.record(z.string(), HostSchema, mapping('a mapping of host name to host entry')).nullable().optional(),
    services: z.record(z.string(), ServiceSchema, mapping('a mapping of service name to service entry')).nullable().optional(),
  },
  "a mapping with 'hub' and 'hosts'",
)
  .superRefine((site, ctx) => {
    if (ctx.issues.length > 0) return;
    const hosts = site.hosts ?? {};
    const hostIds = new Set<string>();
    for (const host of Object.values(hosts)) for (const inst of host.agentInstances) hostIds.add(inst.instanceId);
    const serviceIds = new Map<string, string>();
    for (const [name, service] of Object.entries(site.services ?? {})) {
      if (!InstanceIdSchema.safeParse(name).success) {
        ctx.addIssue({ code: 'custom', path: ['services', name], message: "a service name must not contain '.', '#' or spaces" });
        continue;
      }
      service.hosts.forEach((host, index) => {
        if (!Object.hasOwn(hosts, host)) {
          ctx.addIssue({ code: 'custom', path: ['services', name, 'hosts', index], message: `no host '${host}' under hosts` });
        }
      });
      for (const id of serviceInstanceIds(name, service.instances)) {
        const other = serviceIds.get(id);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['services', name], message: `instance-id '${id}' is also an instance of service '${other}'` });
        } else if (hostIds.has(id)) {
          ctx.addIssue({ code: 'custom', path: ['services', name], message: `instance-id '${id}' is also listed under hosts` });
        }
        serviceIds.set(id, name);
      }
    }
  })
  .transform((site) => ({
    hub: site.hub,
    hosts: site.hosts ?? {},
    services: Object.fromEntries(
      Object.entries(site.services ?? {}).map(([name, s]) => [name, { name, ...s, instanceIds: serviceInstanceIds(name, s.instances) }]),
    ),
  }));

/** The site file, validated and turned into the camelCase SiteConfig. */
export const SiteConfigSchema = z.preprocess(dropExtensionKeys, SiteFileSchema);

/** A loaded site file (deep-frozen). */
export type SiteConfig = DeepReadonly<z.infer<typeof SiteConfigSchema>>;
/** A site file as written. */
export type SiteConfigInput = z.input<typeof SiteFileSchema>;
export type SiteServiceConfig = SiteConfig['services'][string];
