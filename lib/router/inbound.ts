/**
 * A message as it enters the router: its type, the message itself (handlers read its head:
 * request ID, options, URI), and its arguments as one Payload. The WebSocket transport makes it
 * (relay-head.ts for relayed JSON messages, `readMessage` for fully decoded ones), and so do the
 * HTTP services.
 */
import { MSG, validateMessage } from './messages.js';
import { Payload } from './payload.js';

export interface Inbound {
  readonly type: number;
  /** the message; handlers read only its head (the elements before the payload) */
  readonly m: readonly unknown[];
  readonly payload: Payload;
}

/** Index of Arguments in the messages that carry a payload. */
const PAYLOAD_AT: Readonly<Record<number, number>> = { [MSG.PUBLISH]: 4, [MSG.CALL]: 4, [MSG.YIELD]: 3, [MSG.ERROR]: 5 };

/**
 * A decoded message checked (messages.ts: throws ProtocolViolation) and split into head and
 * payload. `special`: its values hold a WampFloat or binary data; `text`: its JSON text.
 */
export function readMessage(msg: unknown, special: boolean, text?: string): Inbound {
  const type = validateMessage(msg);
  const m = msg as unknown[];
  const at = PAYLOAD_AT[type];
  return { type, m, payload: at === undefined ? Payload.NONE : Payload.ofMessage(m, at, special, text) };
}
