import type { AutobahnSerializer } from './autobahn.js';
import { encodeJson } from './codec.js';

/**
 * The JSON serializer our own WAMP clients offer. Encoding goes through the project codec so a
 * `WampFloat` travels as `1.0` (ocs-protocol §9.3); decoding is plain JSON.parse because inside
 * JavaScript a float and an int are the same number, and handlers (zod schemas included) expect
 * plain numbers.
 */
export const jsonSerializer: AutobahnSerializer = {
  SERIALIZER_ID: 'json',
  BINARY: false,
  serialize: (obj) => encodeJson(obj),
  unserialize: (payload) => JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8')) as unknown,
};
