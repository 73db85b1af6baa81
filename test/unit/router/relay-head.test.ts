import { describe, expect, it } from 'vitest';
import { decodeRelayHead } from '../../../lib/router/relay-head.js';
import { Payload } from '../../../lib/router/payload.js';
import { skipJsonValue } from '../../../lib/wamp/json-scan.js';
import { WampFloat } from '../../../lib/wamp/float.js';
import { seededRandom } from '../../helpers/random.js';

/** Whether JSON.parse accepts `t` as one value. */
function isJson(t: string): boolean {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

const PIECES = ['[', ']', '{', '}', ',', ':', '"', '\\', '"a"', '"\\u00e9"', '"\\x"', '"\\u12"', '1', '-', '0', '01', '1.', '.5', '1e', '1e+5', '-0.0', 'true', 'tru', 'null', 'nul', 'false', ' ', '\n', '\t', '\u0001', '"\u0001"', 'é', '\u2028', '"k":', 'NaN', 'Infinity'];

describe('skipJsonValue', () => {
  it('accepts exactly what JSON.parse accepts (differential fuzz, 20,000 texts)', () => {
    const rand = seededRandom(20261124);
    const valid = ['{"a":[1,2.5,-3e-2,true,false,null,"x\\n\\"y\\u00e9"]}', '[]', '{}', '[[[]]]', '"\\/"', '0', '-0.5E+10', '[ 1 , { "a" : [ ] } ]'];
    const texts: string[] = [...valid];
    for (let n = 0; n < 20_000; n++) {
      let t = '';
      const k = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < k; i++) t += PIECES[Math.floor(rand() * PIECES.length)];
      texts.push(t);
      // mutate a valid text at one position
      const v = valid[Math.floor(rand() * valid.length)]!;
      const at = Math.floor(rand() * (v.length + 1));
      texts.push(v.slice(0, at) + PIECES[Math.floor(rand() * PIECES.length)] + v.slice(at));
    }
    let accepted = 0;
    for (const t of texts) {
      const end = skipJsonValue(t, 0);
      // whole text, no surrounding whitespace: a value ending exactly at the end
      const ours = end === t.length;
      const theirs = t.length > 0 && t.trim() === t && isJson(t);
      if (ours !== theirs) throw new Error(`disagree on ${JSON.stringify(t)}: ours ${ours}, JSON.parse ${theirs}`);
      if (ours) accepted++;
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('refuses nesting deeper than 200', () => {
    expect(skipJsonValue('['.repeat(200) + ']'.repeat(200), 0)).toBe(400);
    expect(skipJsonValue('['.repeat(201) + ']'.repeat(201), 0)).toBe(-1);
  });
});

describe('decodeRelayHead', () => {
  it('reads the head of PUBLISH, CALL, YIELD and ERROR and keeps the payload text', () => {
    const pub = decodeRelayHead('[16,7,{},"a.b",[1,[2,3]],{"k":null}]')!;
    expect(pub.m).toEqual([16, 7, {}, 'a.b']);
    expect(pub.type).toBe(16);
    expect(pub.payload.jsonTail).toBe(',[1,[2,3]],{"k":null}]');
    expect([pub.payload.args, pub.payload.kwargs, pub.payload.special]).toEqual([[1, [2, 3]], { k: null }, false]);

    const call = decodeRelayHead(' [ 48 , 9007199254740991 , {"receive_progress":true} , "x\\u002ey" ] ')!;
    expect(call.m).toEqual([48, 9007199254740991, { receive_progress: true }, 'x.y']);
    expect(call.payload).toBe(Payload.NONE);

    const y = decodeRelayHead('[70,3,{"progress":true},[],{"a":1}]')!;
    expect(y.m).toEqual([70, 3, { progress: true }]);
    expect(y.payload.jsonTail).toBe(',[],{"a":1}]');
    expect(y.payload.args).toEqual([]);
    expect(y.payload.kwargs).toEqual({ a: 1 });

    const err = decodeRelayHead('[8,68,5,{},"app.error.x",["why"]]')!;
    expect(err.m).toEqual([8, 68, 5, {}, 'app.error.x']);
    expect(err.payload.jsonTail).toBe(',["why"]]');
  });

  it('parses a repeated options text once and hands out the same frozen dict', () => {
    const a = decodeRelayHead('[16,1,{"acknowledge":true,"exclude":[5]},"t",[1]]')!;
    const b = decodeRelayHead('[16,2,{"acknowledge":true,"exclude":[5]},"t",[2]]')!;
    expect(a.m[2]).toEqual({ acknowledge: true, exclude: [5] });
    expect(b.m[2]).toBe(a.m[2]);
    expect(Object.isFrozen(a.m[2])).toBe(true);
    expect(Object.isFrozen((a.m[2] as { exclude: number[] }).exclude)).toBe(true);
  });

  it('decodes a float-marked payload on demand with its floats kept', () => {
    const h = decodeRelayHead('[16,1,{},"t",[1.0,2]]')!;
    const v = h.payload;
    expect(v.special).toBe(true);
    expect(v.args![0]).toBeInstanceOf(WampFloat);
    expect(v.args![1]).toBe(2);
    expect(v.jsonTail).toBe(',[1.0,2]]');
  });

  it('leaves everything else to the full decoder', () => {
    for (const t of [
      '[32,1,{},"a"]', // not relayed
      '[16,0,{},"a"]', // ID 0
      '[16,9007199254740993,{},"a"]', // from 2^53 on, JSON.parse rounds: left to the full path
      '[16,1.0,{},"a"]',
      '[16,1e3,{},"a"]',
      '[16,01,{},"a"]',
      '[16,1,[],"a"]', // options not a dict
      '[16,1,{},5]', // topic not a string
      '[16,1,{},"a",[]]', // empty args: the router omits them
      '[16,1,{},"a",[],{}]', // empty kwargs
      '[16,1,{},"a",[1],{}]',
      '[16,1,{},"a",{}]', // args not a list
      '[16,1,{},"a",[1],[2]]', // kwargs not a dict
      '[16,1,{},"a",[1],{"k":1},3]', // too long
      '[16,1,{},"a",[1,]]', // invalid JSON in the payload
      '[16,1,{},"a",[1]]x', // trailing garbage
      '[16,1,{},"a\u0001"]', // control character in a string
      '[8,48,1,{},"e"]', // ERROR for something else than INVOCATION
      '[70,1,{"progress":tru}]',
      '[48,1,{},"a"',
    ]) {
      expect(decodeRelayHead(t), t).toBeUndefined();
    }
    expect(decodeRelayHead('[16,1,{},"a",[],{"k":1}]')).toBeDefined();
  });
});
