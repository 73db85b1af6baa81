/**
 * The per-host placement feed, `{root}.{hm-id}.feeds.placement`: every HostManager publishes one
 * on every change and every `publishIntervalMs`, and reads everyone else's. Inbound messages are
 * peer payloads: `parsePlacementMessage` validates them and the caller drops junk.
 *
 * ```json
 * {"node": "h1", "incarnation": 1700000000123, "seq": 42, "time": 1700000100.5,
 *  "config_hash": "9f3a0c11", "frozen": false, "leaving": false, "maintenance_until": null, "load1": 0.4,
 *  "services": {"aggregator": {"state": "RUNNING", "monitor": "idle", "epoch": 7, "claim_at": 1700000090.1, "restart": null}},
 *  "frozen_services": [], "service_hashes": {"aggregator": "1b2c3d4e"},
 *  "intents": {"aggregator": {"expect": "started", "frozen": false, "move": null, "op": "config",
 *              "gen": 0, "by": "", "settled": true}},
 *  "clears": {}, "restarts": {}}
 * ```
 *
 * - `services` is keyed by instance-id (the service name when it has one instance).
 * - `time` is the sender's clock when it published. Receivers never compare it (or any other
 *   remote time) with their own clock: they only use `maintenance_until - time`, a duration, and
 *   measure the message's age from its local receipt time.
 * - `incarnation` changes when the sender's orchestrator restarts (its `seq` starts again); it is
 *   compared for equality only.
 */
import { z } from 'zod';
import { CHILD_STATE_VALUES } from '../supervisor/child-record.js';
import { WireNumberSchema } from '../registry/agent-record.js';
import { ServiceIntentSchema } from './service-intent.js';

/** What the orchestrator is doing for one local instance. */
export const MONITOR = {
  IDLE: 'idle',
  /** Claimed (new epoch published); waiting out the ready period before starting. */
  READY: 'ready',
  /** Start asked of the local supervisor; waiting for RUNNING. */
  STARTING: 'starting',
  /** Stop asked (duplicate, stopped, placed/relocate); waiting for the process to end. */
  STOPPING: 'stopping',
  /** The local start failed (CRASHED or no start in time): this host is out for the service until `clear`. */
  START_FAILED: 'start_failed',
  /** The local stop did not end in time: this host is out for the service until `clear`. */
  STOP_FAILED: 'stop_failed',
  /** An operator stopped the instance on this host: out for the service until an operator start. */
  LOCAL_STOPPED: 'local_stopped',
} as const;
export type Monitor = (typeof MONITOR)[keyof typeof MONITOR];
export const MONITOR_VALUES = Object.values(MONITOR) as [Monitor, ...Monitor[]];

/** Monitors that take a host out of the candidates for the service. */
export const BLOCKING_MONITORS: readonly Monitor[] = [MONITOR.START_FAILED, MONITOR.STOP_FAILED, MONITOR.LOCAL_STOPPED];

/** Bounds against junk (a bad peer must not cost memory). */
export const MAX_PLACEMENT_ENTRIES = 4096;
const NAME_MAX_LENGTH = 255;

const NameSchema = z.string().min(1).max(NAME_MAX_LENGTH);
const UnixSecondsSchema = WireNumberSchema.pipe(z.number().finite());
const boundedRecord = <V extends z.ZodType>(value: V) =>
  z.record(NameSchema, value).refine((r) => Object.keys(r).length <= MAX_PLACEMENT_ENTRIES, { error: 'too many entries' });

export const PlacementInstanceSchema = z.object({
  /** The local supervisor's state of the instance; null when it has no such child. */
  state: z.enum(CHILD_STATE_VALUES).nullable(),
  monitor: z.enum(MONITOR_VALUES),
  /** The epoch of this host's claim on the instance (0: never claimed). */
  epoch: WireNumberSchema.pipe(z.int().nonnegative()),
  /** When this host claimed it (sender's clock, unix seconds; informational). */
  claim_at: UnixSecondsSchema.nullable(),
  /** The token of the last rolling restart of the instance that finished on this host (RUNNING again). */
  restart: z.string().max(NAME_MAX_LENGTH).nullable().default(null),
});
export type PlacementInstance = z.infer<typeof PlacementInstanceSchema>;

export const PlacementMessageSchema = z.object({
  node: NameSchema,
  incarnation: WireNumberSchema.pipe(z.number().finite()),
  seq: WireNumberSchema.pipe(z.int().nonnegative()),
  time: UnixSecondsSchema,
  config_hash: z.string().max(64),
  frozen: z.boolean(),
  /** The sender's HostManager is shutting down: no candidate any more. */
  leaving: z.boolean().default(false),
  maintenance_until: UnixSecondsSchema.nullable(),
  load1: WireNumberSchema.pipe(z.number().finite()).nullable(),
  services: boundedRecord(PlacementInstanceSchema),
  frozen_services: z.array(NameSchema).max(MAX_PLACEMENT_ENTRIES).default([]),
  service_hashes: boundedRecord(z.string().max(64)).default({}),
  intents: boundedRecord(ServiceIntentSchema).default({}),
  /** service → host → clear request counter (`clear(service, host)` from any host). */
  clears: boundedRecord(boundedRecord(WireNumberSchema.pipe(z.int().nonnegative()))).default({}),
  /** instance-id → token: a rolling restart this host asks of the instance's holder (rollout.ts). */
  restarts: boundedRecord(z.string().max(NAME_MAX_LENGTH)).default({}),
});
export type PlacementMessage = z.infer<typeof PlacementMessageSchema>;

export type PlacementParseResult = { ok: true; message: PlacementMessage } | { ok: false; reason: string };

/**
 * Validates an inbound placement event. Accepts the message itself or the OCS feed pair
 * `[message, feed_encoded]` that feed events carry as their one positional argument.
 */
export function parsePlacementMessage(raw: unknown): PlacementParseResult {
  const candidate = Array.isArray(raw) && raw.length === 2 && typeof raw[1] === 'object' ? raw[0] : raw;
  const parsed = PlacementMessageSchema.safeParse(candidate);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: issue ? `${issue.path.join('.') || '(message)'}: ${issue.message}` : 'invalid' };
}

