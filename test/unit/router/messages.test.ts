import { describe, expect, it } from 'vitest';
import { ProtocolViolation, isCanonicalPayload, isValidPatternUri, isValidUri, validateMessage, withPayload } from '../../../lib/router/messages.js';

describe('messages', () => {
  it('validates types, arity and IDs', () => {
    expect(validateMessage([16, 1, {}, 't'])).toBe(16);
    expect(validateMessage([48, 2 ** 53, {}, 'p', [], {}])).toBe(48);
    for (const bad of [[], {}, null, [16, 0, {}, 't'], [16, 1.5, {}, 't'], [16, 1, [], 't'], [16, 1, {}, 't', null], [16, 1, {}, 't', [], []], [48, 1, {}], [48, 1, {}, 'p', [], {}, 1], [2, 1, {}], ['48', 1, {}, 'p'], [70, 1, {}, {}], [1, 42, {}]]) {
      expect(() => validateMessage(bad), JSON.stringify(bad)).toThrow(ProtocolViolation);
    }
  });

  it("checks URIs with crossbar's loose rules", () => {
    expect(isValidUri('observatory.agent-1.feeds.heartbeat')).toBe(true);
    expect(isValidUri('com.Example.LSA22BB')).toBe(true);
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a#b', 'a\tb']) expect(isValidUri(bad), bad).toBe(false);
    expect(isValidPatternUri('observatory..feeds.heartbeat', 'wildcard')).toBe(true);
    expect(isValidPatternUri('observatory..feeds.', 'wildcard')).toBe(true);
    expect(isValidPatternUri('observatory.', 'prefix')).toBe(true);
    expect(isValidPatternUri('a..b', 'prefix')).toBe(false);
    expect(isValidPatternUri('a b', 'wildcard')).toBe(false);
  });

  it('omits empty args and kwargs and never writes null', () => {
    expect(withPayload([36], undefined, undefined)).toEqual([36]);
    expect(withPayload([36], [], {})).toEqual([36]);
    expect(withPayload([36], [1], {})).toEqual([36, [1]]);
    expect(withPayload([36], undefined, { a: 1 })).toEqual([36, [], { a: 1 }]);
  });

  it('tells a payload the router sends as it is from one with empty parts to drop', () => {
    expect(isCanonicalPayload(undefined, undefined)).toBe(true);
    expect(isCanonicalPayload([], undefined)).toBe(false);
    expect(isCanonicalPayload([1], {})).toBe(false);
    expect(isCanonicalPayload([], { a: 1 })).toBe(true);
  });
});
