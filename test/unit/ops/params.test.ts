import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidParamsError } from '../../../lib/errors.js';
import { describeParams, ParamError, validateParams } from '../../../lib/ops/params.js';
import { pythonNumberRepr, pythonRepr, pythonStr } from '../../../lib/ops/python-repr.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ParamError);
    return (err as Error).message;
  }
  throw new Error('expected a ParamError');
}

describe('validateParams', () => {
  describe('required params', () => {
    const schema = z.object({ s: z.string() });

    it('refuses a missing key when there is no default', () => {
      expect(messageOf(() => validateParams(schema, {}))).toBe("Param 's' is required and must not be None");
    });

    it('treats null as missing', () => {
      expect(messageOf(() => validateParams(schema, { s: null }))).toBe("Param 's' is required and must not be None");
    });

    it('treats params null and [] as {}', () => {
      expect(messageOf(() => validateParams(schema, null))).toBe("Param 's' is required and must not be None");
      expect(messageOf(() => validateParams(schema, []))).toBe("Param 's' is required and must not be None");
      expect(validateParams(z.object({}), null)).toEqual({});
      expect(validateParams(z.object({}), [])).toEqual({});
    });

    it('is an InvalidParamsError for the runtime', () => {
      expect(() => validateParams(schema, {})).toThrow(InvalidParamsError);
    });
  });

  describe('defaults', () => {
    const schema = z.object({ delay: z.number().default(5), succeed: z.boolean().default(true), note: z.string().optional(), tag: z.string().nullable() });

    it('applies schema defaults to missing and null values', () => {
      expect(validateParams(schema, { delay: null })).toEqual({ delay: 5, succeed: true, tag: null });
    });

    it('keeps given values', () => {
      expect(validateParams(schema, { delay: 1, succeed: false, note: 'n', tag: 't' })).toEqual({ delay: 1, succeed: false, note: 'n', tag: 't' });
    });
  });

  describe('types, with Python texts', () => {
    it.each([
      ['float', z.number(), 'two_seconds', "Param 'k'=two_seconds is not of required type (<class 'float'>)"],
      ['int', z.int(), 1.5, "Param 'k'=1.5 is not of required type (<class 'int'>)"],
      ['int via .int()', z.number().int(), 0.00001, "Param 'k'=1e-05 is not of required type (<class 'int'>)"],
      ['bool', z.boolean(), 1, "Param 'k'=1 is not of required type (<class 'bool'>)"],
      ['bool from a string', z.boolean(), 'yes', "Param 'k'=yes is not of required type (<class 'bool'>)"],
      ['str', z.string(), true, "Param 'k'=True is not of required type (<class 'str'>)"],
      ['list', z.array(z.unknown()), { a: 1, b: [1, 'x', null, true] }, "Param 'k'={'a': 1, 'b': [1, 'x', None, True]} is not of required type (<class 'list'>)"],
      ['tuple', z.tuple([z.string()]), 'abc', "Param 'k'=abc is not of required type (<class 'tuple'>)"],
      ['dict', z.object({}), [1, 2], "Param 'k'=[1, 2] is not of required type (<class 'dict'>)"],
      ['dict (record)', z.record(z.string(), z.number()), 'x', "Param 'k'=x is not of required type (<class 'dict'>)"],
      ['quoted reprs', z.int(), ["it's", 'a"b', 'x\'y"z', 'tab\t'], `Param 'k'=["it's", 'a"b', 'x\\'y"z', 'tab\\t'] is not of required type (<class 'int'>)`],
      ['a wrapped type', z.number().optional().default(3), 'x', "Param 'k'=x is not of required type (<class 'float'>)"],
      ['the input of a transform', z.string().transform((s) => s.length), 5, "Param 'k'=5 is not of required type (<class 'str'>)"],
    ])('refuses a wrong %s', (_name, field, value, text) => {
      expect(messageOf(() => validateParams(z.object({ k: field }), { k: value }))).toBe(text);
    });

    it('accepts ints and booleans as floats, as Python', () => {
      expect(validateParams(z.object({ a: z.number(), b: z.number() }), { a: 3, b: true })).toEqual({ a: 3, b: 1 });
    });

    it("accepts booleans where Python's type=int does", () => {
      expect(validateParams(z.object({ n: z.int() }), { n: true })).toEqual({ n: 1 });
      expect(validateParams(z.object({ n: z.int() }), { n: false })).toEqual({ n: 0 });
    });

    it('accepts lists for tuples and passes transforms through', () => {
      expect(validateParams(z.object({ t: z.tuple([z.number(), z.string()]), p: z.string().transform((s) => s.length) }), { t: [1, 'a'], p: 'abc' })).toEqual({
        t: [1, 'a'],
        p: 3,
      });
    });

    it('reports a failed cast for z.coerce', () => {
      expect(messageOf(() => validateParams(z.object({ x: z.coerce.number() }), { x: 'abc' }))).toBe("Param 'x'=abc could not be cast to <class 'float'>.");
      expect(validateParams(z.object({ x: z.coerce.number() }), { x: '2.5' })).toEqual({ x: 2.5 });
    });
  });

  describe('allowed sets', () => {
    it('refuses a value outside an enum with a Python list', () => {
      expect(messageOf(() => validateParams(z.object({ m: z.enum(['a', 'b']) }), { m: 'c' }))).toBe("Param 'm'=c is not in allowed set (['a', 'b'])");
    });

    it('handles literals and unions of literals', () => {
      expect(messageOf(() => validateParams(z.object({ m: z.union([z.literal(1), z.literal(2.5)]) }), { m: 3 }))).toBe("Param 'm'=3 is not in allowed set ([1, 2.5])");
      expect(messageOf(() => validateParams(z.object({ m: z.literal('on') }), { m: 'off' }))).toBe("Param 'm'=off is not in allowed set (['on'])");
      expect(validateParams(z.object({ m: z.enum(['a', 'b']) }), { m: 'b' })).toEqual({ m: 'b' });
    });
  });

  describe('validity checks', () => {
    it('reports refinements and ranges as a failed validity check', () => {
      const text = "Param 'x' failed validity check (see docs?).";
      expect(messageOf(() => validateParams(z.object({ x: z.number().refine((v) => v >= 0) }), { x: -1 }))).toBe(text);
      expect(messageOf(() => validateParams(z.object({ x: z.number().min(3).default(4) }), { x: 2 }))).toBe(text);
      expect(messageOf(() => validateParams(z.object({ x: z.string().regex(/^a/) }), { x: 'b' }))).toBe(text);
    });

    it('checks the type before the allowed set and the set before the check', () => {
      const field = z.enum(['aa', 'b']).refine((v) => v.length > 1);
      expect(messageOf(() => validateParams(z.object({ x: field }), { x: 'c' }))).toBe("Param 'x'=c is not in allowed set (['aa', 'b'])");
      expect(messageOf(() => validateParams(z.object({ x: field }), { x: 'b' }))).toBe("Param 'x' failed validity check (see docs?).");
    });

    it('reports an object-level refinement against the key it names', () => {
      const schema = z.object({ lo: z.number(), hi: z.number() }).refine((p) => p.lo < p.hi, { path: ['hi'] });
      expect(messageOf(() => validateParams(schema, { lo: 2, hi: 1 }))).toBe("Param 'hi' failed validity check (see docs?).");
      expect(validateParams(schema, { lo: 1, hi: 2 })).toEqual({ lo: 1, hi: 2 });
    });
  });

  describe('stray keys', () => {
    it('refuses keys outside the schema, after the per-key checks', () => {
      const schema = z.object({ x: z.number() });
      expect(messageOf(() => validateParams(schema, { x: 1, y: 2, z: 3 }))).toBe("params included unexpected values: ['y', 'z']");
      expect(messageOf(() => validateParams(schema, { y: 2 }))).toBe("Param 'x' is required and must not be None");
    });

    it('refuses every key for an op declared without params', () => {
      expect(messageOf(() => validateParams(z.object({}), { a: 1 }))).toBe("params included unexpected values: ['a']");
    });

    it('drops strays when the op opts out, and keeps them for a loose schema', () => {
      expect(validateParams(z.object({ x: z.number() }), { x: 1, y: 2 }, { shouldCheckStrays: false })).toEqual({ x: 1 });
      expect(validateParams(z.looseObject({ x: z.number() }), { x: 1, y: 2 })).toEqual({ x: 1, y: 2 });
    });
  });

  it('raises a TypeError (a CRASH at start) for params that are not an object', () => {
    expect(() => validateParams(z.object({}), [1])).toThrow("'list' object has no attribute 'get'");
    expect(() => validateParams(z.object({}), 'x')).toThrow("'str' object has no attribute 'get'");
    expect(() => validateParams(z.object({}), [1])).not.toThrow(ParamError);
  });
});

describe('describeParams', () => {
  it('builds a signature with defaults and a parameter list', () => {
    const schema = z.object({
      delay: z.number().default(5).describe('Seconds to wait.'),
      succeed: z.boolean().default(true),
      mode: z.enum(['a', 'b']),
      name: z.string().optional(),
    });
    expect(describeParams(schema, 'delay_task')).toBe(
      [
        'delay_task(delay=5, succeed=True, mode, name=None)',
        '',
        'Parameters:',
        '    delay (float, optional): Seconds to wait.',
        '    succeed (bool, optional)',
        "    mode (any): One of ['a', 'b'].",
        '    name (str, optional)',
      ].join('\n'),
    );
  });

  it('gives just the signature for no params', () => {
    expect(describeParams(z.object({}), 'count')).toBe('count()');
  });
});

describe('python reprs', () => {
  it('writes values as Python str() does', () => {
    expect(pythonStr(true)).toBe('True');
    expect(pythonStr(null)).toBe('None');
    expect(pythonStr('bare')).toBe('bare');
    expect(pythonRepr('bare')).toBe("'bare'");
    expect(pythonRepr({ a: [1, 'x'], b: { c: false } })).toBe("{'a': [1, 'x'], 'b': {'c': False}}");
    expect(pythonRepr('line\nbreak\\')).toBe("'line\\nbreak\\\\'");
  });

  it('writes floats as Python repr does', () => {
    expect(pythonNumberRepr(1e-5)).toBe('1e-05');
    expect(pythonNumberRepr(1.5e-7)).toBe('1.5e-07');
    expect(pythonNumberRepr(-0.0001)).toBe('-0.0001');
    expect(pythonNumberRepr(123456789.125)).toBe('123456789.125');
    expect(pythonNumberRepr(1e22)).toBe('10000000000000000000000');
    expect(pythonNumberRepr(NaN)).toBe('nan');
    expect(pythonNumberRepr(-Infinity)).toBe('-inf');
    expect(pythonNumberRepr(-0)).toBe('0');
  });
});
