/**
 * The reply of every `.ops` action: OCS sends ONE result value, the array
 * `[code, message, session]`; the client turns it into `{status, message, session}`.
 */
import { z } from 'zod';

/** One operation session as the agent encodes it (OCS `OpSession.encoded()`, all 11 keys). */
export const OpSessionDataSchema = z.looseObject({
  session_id: z.number().int(),
  op_name: z.string(),
  op_code: z.number().int(),
  cred_level: z.number().int(),
  status: z.enum(['starting', 'running', 'stopping', 'done']).nullable(),
  degraded: z.boolean(),
  success: z.boolean().nullable(),
  /** Unix seconds. */
  start_time: z.number(),
  /** Unix seconds; null until the session is done. */
  end_time: z.number().nullable(),
  data: z.record(z.string(), z.unknown()),
  /** `[unix_seconds, text]` pairs. */
  messages: z.array(z.tuple([z.number(), z.string()])),
});
export type OpSessionData = z.infer<typeof OpSessionDataSchema>;

/** The session of a reply that has none (never started, unknown op, rejected start). */
export type EmptySession = Record<string, never>;

export const OpReplySchema = z
  .tuple([z.number().int(), z.string(), z.union([z.strictObject({}), OpSessionDataSchema])])
  .transform(([status, message, session]) => ({ status, message, session: session as OpSessionData | EmptySession }));

export interface OpReply {
  /** A ResponseCode (lib/ops/op-codes.ts): OK 0, ERROR -1, TIMEOUT 1. */
  status: number;
  message: string;
  session: OpSessionData | EmptySession;
}

/** True when the reply carries a session (`{}` otherwise). */
export function hasSession(reply: OpReply): reply is OpReply & { session: OpSessionData } {
  return 'session_id' in reply.session;
}
