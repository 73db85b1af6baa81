/**
 * What the WAMP codecs share: the decode flags, the error they throw on bad input, the nesting limit.
 */

/** Set by the decoders: true when the value holds a WampFloat or a Uint8Array. */
export interface DecodeFlags {
  special: boolean;
}

export class CodecError extends Error {
  override name = 'CodecError';
}

/** Values nested deeper than this are refused (decoding and encoding). */
export const MAX_DEPTH = 200;

/** The flags a caller that does not ask for them gets. */
export const SCRATCH_FLAGS: DecodeFlags = { special: false };
