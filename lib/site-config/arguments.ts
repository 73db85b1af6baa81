import { z } from 'zod';

/** One item of a site file's `arguments:` list, as YAML gives it. */
export type ArgumentItem = string | number | boolean | null | readonly ArgumentItem[];

/**
 * Python's `str()` of a YAML scalar, which is what OCS passes to the agent: `True`, `None`,
 * `16`, `0.5`, `1e-05`. (A YAML `1.0` reads as the number 1 here, so it becomes `1`.)
 */
export function pythonStr(value: string | number | boolean | null): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return value;
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return String(value);
  return pythonFloatRepr(value);
}

/** Python's repr of a float: shortest digits, exponent form when exponent < -4 or >= 16. */
function pythonFloatRepr(value: number): string {
  const [mantissa, exp] = Math.abs(value).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exponent = Number(exp);
  const sign = value < 0 ? '-' : '';
  if (exponent < -4 || exponent >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = `${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
    return `${sign}${m}e${e}`;
  }
  const point = exponent + 1;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Flattens nested lists and `str()`s every item, as OCS does before merging. */
export function flattenArguments(items: readonly ArgumentItem[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (Array.isArray(item)) out.push(...flattenArguments(item as readonly ArgumentItem[]));
    else out.push(pythonStr(item as string | number | boolean | null));
  }
  return out;
}

/** OCS's flag test: `-` followed (after any further dashes) by a letter, so `-5` is a value. */
export function isFlagToken(token: string): boolean {
  return /^-+\p{L}/u.test(token);
}

const ITEM_HELP = 'expected a string, number, true/false, null or a nested list';

export const ArgumentItemSchema: z.ZodType<ArgumentItem> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(ArgumentItemSchema)], { error: ITEM_HELP }),
);

/** `arguments:` → the flat list of strings the agent sees. */
export const ArgumentsSchema = z
  .array(ArgumentItemSchema, { error: (issue) => (issue.input === undefined ? undefined : 'expected a list of arguments') })
  .transform((items) => flattenArguments(items));

/** A flag with the values that follow it, or (flag null) the leading positional values. */
export interface ArgumentGroup {
  /** The flag's name without any `=value` part (`--mode` for `--mode=acq`); null for positionals. */
  readonly flag: string | null;
  /** The tokens exactly as given, flag first. */
  readonly tokens: readonly string[];
  /** The flag's values: the inline `=value` if any, then the following non-flag tokens. */
  readonly values: readonly string[];
}

/** Splits an argument list into flag groups by OCS's flag rule (see isFlagToken). */
export function groupArguments(argv: readonly string[]): ArgumentGroup[] {
  const groups: { flag: string | null; tokens: string[]; values: string[] }[] = [];
  let current: { flag: string | null; tokens: string[]; values: string[] } | undefined;
  for (const token of argv) {
    if (isFlagToken(token)) {
      const eq = token.indexOf('=');
      current = eq < 0 ? { flag: token, tokens: [token], values: [] } : { flag: token.slice(0, eq), tokens: [token], values: [token.slice(eq + 1)] };
      groups.push(current);
    } else {
      if (current === undefined) {
        current = { flag: null, tokens: [], values: [] };
        groups.push(current);
      }
      current.tokens.push(token);
      current.values.push(token);
    }
  }
  return groups;
}
