import { describe, expect, it } from 'vitest';
import { readMessage } from '../../../lib/router/inbound.js';
import { ProtocolViolation } from '../../../lib/router/messages.js';
import { Payload } from '../../../lib/router/payload.js';
import { decodeJson, encodeJsonHead } from '../../../lib/wamp/json-codec.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import { arrayTextAfter } from '../../../lib/wamp/json-scan.js';

/** The JSON text a JSON receiver gets for `head` + `payload` (what Session.send writes). */
function jsonFrame(head: unknown[], payload: Payload): string | undefined {
  const tail = payload.jsonTail;
  return tail === undefined ? undefined : encodeJsonHead(head) + tail;
}

describe('arrayTextAfter', () => {
  it('finds the text after an element of a JSON array', () => {
    expect(arrayTextAfter('[16,1,{},"t",[1.0,"x]"],{"k":[{}]}]', 3)).toBe(',[1.0,"x]"],{"k":[{}]}]');
    expect(arrayTextAfter('[16, 1, {"a": {"b": "}"}}, "t\\"q" , [2]]', 3)).toBe(', [2]]');
    expect(arrayTextAfter('[16,1,{},"t"]', 3)).toBe(']');
    expect(arrayTextAfter('[70,5,{"progress":true},[1]]', 2)).toBe(',[1]]');
    expect(arrayTextAfter('[8,68,5,{},"com.err",["a"]]', 4)).toBe(',["a"]]');
    expect(arrayTextAfter('{"x":1}', 0)).toBeUndefined();
    expect(arrayTextAfter('[16,1]', 3)).toBeUndefined();
  });
});

describe('encodeJsonHead', () => {
  it('writes a head that a payload text completes into the message', () => {
    expect(encodeJsonHead([36, 5, 9, {}])).toBe('[36,5,9,{}');
    expect(encodeJsonHead([8, 48, 3, {}, 'app.error "q"'])).toBe('[8,48,3,{},"app.error \\"q\\""');
    expect(encodeJsonHead([68, 1, 2, { caller: 7, procedure: 'a.b' }]) + ']').toBe(JSON.stringify([68, 1, 2, { caller: 7, procedure: 'a.b' }]));
  });
});

describe('Payload', () => {
  it('treats empty args and kwargs as no payload', () => {
    expect(Payload.of(undefined, undefined)).toBe(Payload.NONE);
    expect(Payload.of([], {})).toBe(Payload.NONE);
    expect(Payload.NONE.jsonTail).toBe(']');
    expect(Payload.NONE.message([17, 1, 2])).toEqual([17, 1, 2]);
    expect(jsonFrame([17, 1, 2], Payload.NONE)).toBe('[17,1,2]');
  });

  it('of values: encoded for every receiver, empty args kept only before kwargs', () => {
    const p = Payload.of([], { a: 1 });
    expect(p.jsonTail).toBeUndefined();
    expect(p.message([36, 1, 2, {}])).toEqual([36, 1, 2, {}, [], { a: 1 }]);
    expect(Payload.of([1], {}).message([50, 3, {}])).toEqual([50, 3, {}, [1]]);
    expect(p.texts()).toBeUndefined();
  });

  it('of a decoded JSON message: its payload text is relayed when it needs no change', () => {
    const text = '[48, 7, {}, "a.b", [1.0, "x"], {"k": [true]}]';
    const msg = readMessage(decodeJson(text, { special: false }), true, text);
    expect(msg.type).toBe(48);
    expect(msg.payload.jsonTail).toBe(', [1.0, "x"], {"k": [true]}]');
    expect(msg.payload.args![0]).toBeInstanceOf(WampFloat);
    const frame = jsonFrame([68, 9, 4, {}], msg.payload)!;
    expect(frame).toBe('[68,9,4,{}, [1.0, "x"], {"k": [true]}]');
    const decoded = decodeJson(frame, { special: false }) as unknown[];
    expect((decoded[4] as unknown[])[0]).toBeInstanceOf(WampFloat);
    expect(decoded[5]).toEqual({ k: [true] });
  });

  it('of a decoded message with empty parts: encoded without them', () => {
    const text = '[48,7,{},"a.b",[1],{}]';
    const msg = readMessage(JSON.parse(text), false, text);
    expect(msg.payload.jsonTail).toBeUndefined();
    expect(msg.payload.message([68, 9, 4, {}])).toEqual([68, 9, 4, {}, [1]]);
    const none = readMessage([48, 7, {}, 'a.b', [], {}], false);
    expect(none.payload).toBe(Payload.NONE);
  });

  it('gives the JSON texts of args and kwargs for a reply written without decoding', () => {
    const relayed = (tail: string) => Payload.ofRelayed(`[70,1,{}${tail}`, tail, 3);
    expect(relayed(',[{"a": 1}]]').texts()).toEqual({ args: '[{"a": 1}]', isArgsEmpty: false, kwargs: undefined });
    expect(relayed(', [ ] , {"k":"v"} ]').texts()).toEqual({ args: '[ ]', isArgsEmpty: true, kwargs: '{"k":"v"}' });
    expect(relayed(',[1,2],{"k":null}]').texts()).toEqual({ args: '[1,2]', isArgsEmpty: false, kwargs: '{"k":null}' });
    expect(relayed(' ] ')).toBe(Payload.NONE);
  });

  it('refuses a message that breaks the protocol where it enters', () => {
    expect(() => readMessage([48, 1, {}, 'a', {}], false)).toThrow(ProtocolViolation);
    expect(() => readMessage([48, 1, {}, 'a', [1], [2]], false)).toThrow('ArgumentsKw must be a dict');
    expect(readMessage([32, 1, {}, 'a'], false).payload).toBe(Payload.NONE);
  });
});
