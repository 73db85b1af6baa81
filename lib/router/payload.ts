/**
 * A message's arguments (WAMP `Arguments` and `ArgumentsKw`), in one type for every path through
 * the router. A payload is made where a message enters (the transport, the HTTP services, the
 * router's own meta events) and is passed as it is to every receiver; the frame a receiver gets
 * is built from it by `Session.send`.
 *
 * A payload holds its values, or the text of the JSON message it came in (a relayed message,
 * whose head alone was decoded: relay-head.ts), or both. Values are decoded from the text on
 * first use (a receiver that is not JSON, the router's own procedures); a JSON receiver gets the
 * text after the head the router writes, never re-encoded.
 */
import { decodeJson } from '../wamp/json-codec.js';
import { arrayTextAfter, isEmptyContainer, skipJsonValue, skipWs } from '../wamp/json-scan.js';
import { isCanonicalPayload, withPayload, type Dict } from './messages.js';

/** The JSON texts of a payload's arguments, as they came (the HTTP bridge writes them into its reply). */
export interface PayloadTexts {
  /** `[...]`, or undefined when absent */
  args: string | undefined;
  /** whether `args` is `[]` (sent only because kwargs follow) */
  isArgsEmpty: boolean;
  /** `{...}`, or undefined when absent */
  kwargs: string | undefined;
}

/** Tail of a payload that is not known yet (looked for in the text on first use). */
const UNKNOWN = null;

export class Payload {
  /** No arguments: the message ends after its head. */
  static readonly NONE: Payload = new Payload(undefined, undefined, false, undefined, 0, ']', true);

  private constructor(
    private argsValue: unknown[] | undefined,
    private kwargsValue: Dict | undefined,
    private specialValue: boolean,
    /** the whole JSON message the payload came in, if it came as JSON */
    private readonly text: string | undefined,
    /** index of Arguments in that message */
    private readonly at: number,
    /** the text after the head: `]`, `,[args]]` or `,[args],{kwargs}]`; undefined: none usable */
    private tail: string | undefined | typeof UNKNOWN,
    private isDecoded: boolean,
  ) {}

  /**
   * A payload of values. `special`: the values hold a WampFloat or binary data (the JSON encoder's
   * hint). Empty args and kwargs are the same as none (the router never sends empty ones).
   */
  static of(args: unknown[] | undefined, kwargs?: Dict | undefined, special = false): Payload {
    if (!special && isNone(args, kwargs)) return Payload.NONE;
    return new Payload(args, kwargs, special, undefined, 0, undefined, true);
  }

  /**
   * The payload of a fully decoded message `m`, Arguments at `at`; `text` is the message's JSON
   * text when it came as JSON (its payload text is then relayed when it needs no change).
   */
  static ofMessage(m: unknown[], at: number, special: boolean, text?: string): Payload {
    const args = m[at] as unknown[] | undefined;
    const kwargs = m[at + 1] as Dict | undefined;
    if (!special && isNone(args, kwargs)) return Payload.NONE;
    const tail = text !== undefined && isCanonicalPayload(args, kwargs) ? UNKNOWN : undefined;
    return new Payload(args, kwargs, special, text, at, tail, true);
  }

  /**
   * The payload of a message decoded head-only: `text` is the whole message, `tail` the valid
   * JSON text after the head (relay-head.ts checked it), Arguments at index `at`.
   */
  static ofRelayed(text: string, tail: string, at: number): Payload {
    if (tail.charCodeAt(skipWs(tail, 0)) === 93) return Payload.NONE;
    return new Payload(undefined, undefined, false, text, at, tail, false);
  }

  get args(): unknown[] | undefined {
    if (!this.isDecoded) this.decode();
    return this.argsValue;
  }

  get kwargs(): Dict | undefined {
    if (!this.isDecoded) this.decode();
    return this.kwargsValue;
  }

  /** Whether the values hold a WampFloat or binary data. */
  get special(): boolean {
    if (!this.isDecoded) this.decode();
    return this.specialValue;
  }

  /**
   * The payload as a JSON receiver gets it after the head the router writes (`]`, `,[args]]`,
   * `,[args],{kwargs}]`), or undefined when it must be encoded from the values.
   */
  get jsonTail(): string | undefined {
    if (this.tail === UNKNOWN) this.tail = arrayTextAfter(this.text!, this.at - 1);
    return this.tail;
  }

  /** A new message: `head` followed by the arguments, empty ones left out. */
  message(head: readonly unknown[]): unknown[] {
    if (this === Payload.NONE) return head as unknown[];
    return withPayload(head.slice(), this.args, this.kwargs);
  }

  /** The JSON texts of args and kwargs when the payload has its text (else undefined: use the values). */
  texts(): PayloadTexts | undefined {
    const tail = this.jsonTail;
    if (tail === undefined) return undefined;
    let i = skipWs(tail, 0);
    if (tail.charCodeAt(i) !== 44) return { args: undefined, isArgsEmpty: true, kwargs: undefined };
    const a = skipWs(tail, i + 1);
    const argsEnd = skipJsonValue(tail, a);
    const args = tail.slice(a, argsEnd);
    const isArgsEmpty = isEmptyContainer(tail, a, argsEnd);
    i = skipWs(tail, argsEnd);
    if (tail.charCodeAt(i) !== 44) return { args, isArgsEmpty, kwargs: undefined };
    const k = skipWs(tail, i + 1);
    return { args, isArgsEmpty, kwargs: tail.slice(k, skipJsonValue(tail, k)) };
  }

  private decode(): void {
    const flags = { special: false };
    const m = decodeJson(this.text!, flags) as unknown[];
    this.argsValue = m[this.at] as unknown[] | undefined;
    this.kwargsValue = m[this.at + 1] as Dict | undefined;
    this.specialValue = flags.special;
    this.isDecoded = true;
  }
}

function isNone(args: unknown[] | undefined, kwargs: Dict | undefined): boolean {
  if (kwargs !== undefined) {
    for (const _ in kwargs) return false;
  }
  return args === undefined || args.length === 0;
}
