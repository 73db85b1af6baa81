import { describe, expect, it } from 'vitest';
import { enforceFieldNameRules, verifyDataFieldString } from '../../../lib/feeds/field-names.js';
import { InvalidParamsError } from '../../../lib/errors.js';

describe('verifyDataFieldString', () => {
  it.each(['a', 'temp_K', 'channel_00', '_a', '__abc', 'a_', 'A1', '_', '___', 'x'.repeat(255)])('accepts %j', (name) => {
    expect(verifyDataFieldString(name)).toBe(true);
  });

  it('rejects an empty name with the OCS message', () => {
    expect(() => verifyDataFieldString('')).toThrow(InvalidParamsError);
    expect(() => verifyDataFieldString('')).toThrow('Empty field name encountered, please enter a valid field name.');
  });

  it('names the first invalid character', () => {
    expect(() => verifyDataFieldString('temp K')).toThrow(
      "message 'data' block contains the key temp K with the invalid character ' '. Valid characters are a-z, A-Z, 0-9, and underscore.",
    );
    expect(() => verifyDataFieldString('a.b-c')).toThrow("invalid character '.'");
    expect(() => verifyDataFieldString('é')).toThrow("invalid character 'é'");
    expect(() => verifyDataFieldString('a😀')).toThrow("invalid character '😀'");
  });

  it.each(['1abc', '_1abc', '__1abc', '9_x', '_9'])('rejects %j, which does not start with a letter after underscores', (name) => {
    expect(() => verifyDataFieldString(name)).toThrow(
      `message 'data' block contains the key ${name}, which does not start with a letter (after any number of leading underscores.)`,
    );
  });

  it('rejects names longer than 255 characters', () => {
    const name = 'a'.repeat(256);
    expect(() => verifyDataFieldString(name)).toThrow(`message 'data' block contains key ${name} which exceeds the valid length of 255 characters.`);
  });

  it('throws InvalidParamsError carrying the field in details', () => {
    try {
      verifyDataFieldString('bad name');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidParamsError);
      expect((e as InvalidParamsError).details).toMatchObject({ field: 'bad name', character: ' ' });
    }
  });
});

describe('enforceFieldNameRules', () => {
  it.each([
    ['temp K', 'temp_K'],
    ['a.b-c', 'abc'],
    ['1abc', 'abc'],
    ['__1abc', '__abc'],
    ['9_x', 'x'],
    ['é', ''],
    ['', 'invalid_field'],
    ['valid_name', 'valid_name'],
    ['_', '_'],
    ['  x', '__x'],
    ['observatory.fake-data1_acq', 'observatoryfakedata1_acq'],
  ])('turns %j into %j', (input, output) => {
    expect(enforceFieldNameRules(input)).toBe(output);
  });

  it('truncates to 255 characters', () => {
    expect(enforceFieldNameRules('b'.repeat(300))).toBe('b'.repeat(255));
    expect(enforceFieldNameRules(`__${'c'.repeat(300)}`)).toHaveLength(255);
  });

  it('produces names that verify whenever the result is non-empty', () => {
    for (const name of ['temp K', '1abc', '__1abc', 'a.b-c', '9_x', '', 'x y z', '_-_a']) {
      const fixed = enforceFieldNameRules(name);
      if (fixed !== '') expect(verifyDataFieldString(fixed)).toBe(true);
    }
  });
});
