/**
 * Python's `str()` and `repr()` of JSON-like values, for the few OCS reply texts that embed
 * user values (`Param 'delay'=two_seconds is not of required type (<class 'float'>)`).
 */

/** Python's `repr()` of a JSON-like value: `None`, `True`, `1.5`, `'text'`, `['a', 'b']`, `{'k': 1}`. */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
      return pythonNumberRepr(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return pythonStringRepr(value);
    default:
      break;
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (typeof value === 'object') {
    const items = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pythonStringRepr(k)}: ${pythonRepr(v)}`);
    return `{${items.join(', ')}}`;
  }
  return String(value);
}

/** Python's `str()`: like repr, but a top-level string is written bare. */
export function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}

/**
 * A number as Python writes it. JS cannot tell `2.0` from `2`, so integral values print as ints;
 * other values follow `float.__repr__` (shortest digits, exponent form below 1e-4).
 */
export function pythonNumberRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? String(n === 0 ? 0 : n) : BigInt(n).toString();
  if (Math.abs(n) >= 1e-4) return String(n);
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string];
  const exp = Number(exponent);
  return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** Python's `repr(str)`: single quotes unless the text holds `'` and no `"`. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/**
 * The text twisted's `str(Failure)` gives for an exception, which OCS puts after `CRASH: `:
 * `[Failure instance: Traceback: <class 'TypeError'>: message\nfile:line:function\n...]`.
 */
export function failureText(error: unknown): string {
  const typeName = error instanceof Error ? error.name : 'Exception';
  const message = error instanceof Error ? error.message : pythonStr(error);
  const frames = error instanceof Error && typeof error.stack === 'string' ? stackFrames(error.stack) : [];
  const head = frames.length > 0 ? 'Traceback' : 'Traceback (failure with no frames)';
  return `[Failure instance: ${head}: <class '${typeName}'>: ${message}\n${frames.map((f) => `${f}\n`).join('')}]`;
}

/** V8 stack lines `    at fn (file:line:col)` as twisted's brief frames `file:line:fn`. */
function stackFrames(stack: string): string[] {
  const frames: string[] = [];
  for (const line of stack.split('\n')) {
    const m = /^\s+at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/.exec(line);
    if (m) frames.push(`${m[2]}:${m[3]}:${m[1] ?? '<module>'}`);
  }
  return frames;
}
