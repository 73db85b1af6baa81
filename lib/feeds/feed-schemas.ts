/**
 * Schemas for feeds: the options of `registerFeed` (OCS's snake_case names) and the payload
 * every feed event carries, `[[message, feed_encoded]]`, for consumers that subscribe to feeds
 * (registry, recorders) and must `safeParse` what peers send.
 */
import { z } from 'zod';
import { isWampFloat } from '../wamp/float.js';

/**
 * Feed names become the last component of `{agent_address}.feeds.{feed_name}`. A dot would put
 * the topic outside the 4-component wildcard patterns consumers subscribe with; whitespace and
 * `#` are refused by routers. OCS recommends lower case, digits and `_`; upper case and dashes
 * are tolerated.
 */
export const FeedNameSchema = z
  .string()
  .min(1, 'feed name must not be empty')
  .regex(/^[^.#\s]+$/u, 'feed name must not contain ".", "#" or whitespace');

/** `agg_params` keys read by the aggregator and the InfluxDB publisher; others pass through. */
export const AggParamsSchema = z.looseObject({
  frame_length: z.number().positive().optional(),
  fresh_time: z.number().positive().optional(),
  exclude_aggregator: z.boolean().optional(),
  exclude_influx: z.boolean().optional(),
});
export type AggParams = z.infer<typeof AggParamsSchema>;

/** `registerFeed(name, options)` options, as OCS's `register_feed` names them. */
export const FeedRegistrationSchema = z.strictObject({
  record: z.boolean().default(false),
  agg_params: AggParamsSchema.nullish().transform((v) => v ?? {}),
  buffer_time: z.number().nonnegative().finite().default(0),
  /** Accepted and unused, as in OCS. */
  max_messages: z.number().int().nonnegative().optional(),
});
export type FeedRegistration = z.input<typeof FeedRegistrationSchema>;

/** `Feed.encoded()`: the second element of every feed event, keys in OCS order. */
export const FeedEncodedSchema = z.looseObject({
  agent_address: z.string(),
  agg_params: z.record(z.string(), z.unknown()),
  feed_name: z.string(),
  address: z.string(),
  record: z.boolean(),
  session_id: z.string(),
  agent_class: z.string().nullable(),
});
export type FeedEncoded = z.infer<typeof FeedEncodedSchema>;

/** The positional arguments of a feed EVENT: ONE element, the pair `[message, feed_encoded]`. */
export const FeedEventArgsSchema = z.tuple([z.tuple([z.unknown(), FeedEncodedSchema])]).rest(z.unknown());
export type FeedEventArgs = z.infer<typeof FeedEventArgsSchema>;

/** A number as a subscriber may decode it: plain, or still wrapped as a float. */
const wireNumber = z.preprocess((v) => (isWampFloat(v) ? v.value : v), z.number().finite());
const wireScalar = z.union([wireNumber, z.string(), z.boolean()]);

/** One block of a recorded feed event: `{block_name, data: {field: [v...]}, timestamps: [t...]}`. */
export const EncodedBlockSchema = z.object({
  block_name: z.string(),
  data: z.record(z.string(), z.array(wireScalar)),
  timestamps: z.array(wireNumber),
});

/** The message of a recorded feed event, as decoded by a subscriber: block_name → block. */
export const RecordedFeedMessageSchema = z.record(z.string(), EncodedBlockSchema).superRefine((message, ctx) => {
  for (const [key, block] of Object.entries(message)) {
    if (block.block_name !== key) {
      ctx.addIssue({ code: 'custom', path: [key, 'block_name'], message: `block_name ${block.block_name} differs from its key ${key}` });
    }
    for (const [field, values] of Object.entries(block.data)) {
      if (values.length !== block.timestamps.length) {
        ctx.addIssue({ code: 'custom', path: [key, 'data', field], message: `${values.length} values for ${block.timestamps.length} timestamps` });
      }
    }
  }
});
export type RecordedFeedMessage = z.infer<typeof RecordedFeedMessageSchema>;
