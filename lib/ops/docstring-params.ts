/**
 * The start form of an op, built from what `get_api` says of it: the docstring's signature line
 * (`delay_task(delay=5, succeed=True)`, for names and defaults) and its `Parameters:` / `Args:`
 * section (`delay (float, optional): …`, for types and help). Values typed into the form, or raw
 * JSON when the docstring says nothing usable, are checked before anything is sent.
 */

export const PARAM_TYPES = ['bool', 'int', 'float', 'str', 'list', 'dict', 'any'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

export interface ParamField {
  name: string;
  type: ParamType;
  /** the default as the signature writes it (`5`, `True`, `'both'`), or null */
  defaultText: string | null;
  doc: string;
}

const TYPE_WORDS: Record<string, ParamType> = {
  bool: 'bool',
  boolean: 'bool',
  int: 'int',
  integer: 'int',
  float: 'float',
  number: 'float',
  str: 'str',
  string: 'str',
  list: 'list',
  tuple: 'list',
  dict: 'dict',
};

/** Splits `a=1, b=[1, 2], c='x,y'` at top-level commas. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function typeOfDefault(text: string | null): ParamType {
  if (text === null || text === 'None') return 'any';
  if (text === 'True' || text === 'False') return 'bool';
  if (/^-?\d+$/.test(text)) return 'int';
  if (/^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(text)) return 'float';
  if (/^(['"]).*\1$/.test(text)) return 'str';
  if (text.startsWith('[') || text.startsWith('(')) return 'list';
  if (text.startsWith('{')) return 'dict';
  return 'any';
}

/** The fields of an op's start form; empty when the docstring names no parameters. */
export function paramFields(opName: string, docstring: string | null | undefined): ParamField[] {
  if (docstring == null || docstring === '') return [];
  const lines = docstring.split('\n');
  const fields = new Map<string, ParamField>();
  const signature = new RegExp(`^\\s*${opName.replace(/[^\w]/g, '\\$&')}\\((.*)\\)\\s*$`).exec(lines[0] ?? '');
  if (signature !== null) {
    for (const part of splitTopLevel(signature[1] as string)) {
      const eq = part.indexOf('=');
      const name = (eq < 0 ? part : part.slice(0, eq)).trim();
      if (!/^[A-Za-z_]\w*$/.test(name) || name === 'self' || name === 'session' || name === 'params') continue;
      const defaultText = eq < 0 ? null : part.slice(eq + 1).trim();
      fields.set(name, { name, type: typeOfDefault(defaultText), defaultText, doc: '' });
    }
  }
  let inParams = false;
  let last: ParamField | null = null;
  for (const line of lines.slice(1)) {
    if (/^\s*(Parameters|Args|Arguments)\s*:\s*$/.test(line)) {
      inParams = true;
      continue;
    }
    if (!inParams) continue;
    if (/^\S/.test(line) || /^\s*\w[\w ]*:\s*$/.test(line)) {
      if (line.trim() !== '') inParams = false;
      continue;
    }
    const entry = /^\s+([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$/.exec(line);
    if (entry !== null) {
      const name = entry[1] as string;
      const typeWord = (entry[2] ?? '').split(',')[0]?.trim().toLowerCase() ?? '';
      const known = fields.get(name);
      const type = TYPE_WORDS[typeWord] ?? known?.type ?? 'any';
      last = { name, type, defaultText: known?.defaultText ?? null, doc: (entry[3] as string).trim() };
      fields.set(name, last);
    } else if (last !== null && line.trim() !== '') {
      last.doc = `${last.doc} ${line.trim()}`.trim();
    }
  }
  return [...fields.values()];
}

export type ParamsResult = { ok: true; params: Record<string, unknown> } | { ok: false; error: string };

function convert(field: ParamField, text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const t = text.trim();
  switch (field.type) {
    case 'str':
      return { ok: true, value: text };
    case 'bool':
      if (/^(true|false)$/i.test(t)) return { ok: true, value: t.toLowerCase() === 'true' };
      return { ok: false, error: `${field.name}: '${t}' is not true or false` };
    case 'int':
      if (/^-?\d+$/.test(t) && Number.isSafeInteger(Number(t))) return { ok: true, value: Number(t) };
      return { ok: false, error: `${field.name}: '${t}' is not an integer` };
    case 'float': {
      const n = Number(t);
      if (t !== '' && Number.isFinite(n)) return { ok: true, value: n };
      return { ok: false, error: `${field.name}: '${t}' is not a number` };
    }
    default: {
      let value: unknown;
      try {
        value = JSON.parse(t);
      } catch {
        if (field.type === 'any') return { ok: true, value: text };
        return { ok: false, error: `${field.name}: not JSON (${field.type === 'list' ? '[…]' : '{…}'})` };
      }
      if (field.type === 'list' && !Array.isArray(value)) return { ok: false, error: `${field.name}: expected a JSON list` };
      if (field.type === 'dict' && (typeof value !== 'object' || value === null || Array.isArray(value))) return { ok: false, error: `${field.name}: expected a JSON object` };
      return { ok: true, value };
    }
  }
}

/** The params of the form's values; an empty value leaves the parameter out (the agent's default). */
export function paramsFromForm(fields: readonly ParamField[], values: Readonly<Record<string, string>>): ParamsResult {
  const params: Record<string, unknown> = {};
  for (const field of fields) {
    const text = values[field.name] ?? '';
    if (text.trim() === '' && field.type !== 'str') continue;
    if (text === '') continue;
    const converted = convert(field, text);
    if (!converted.ok) return converted;
    params[field.name] = converted.value;
  }
  return { ok: true, params };
}

/** Params typed as one JSON object; empty text is `{}`. */
export function paramsFromJson(text: string): ParamsResult {
  if (text.trim() === '') return { ok: true, params: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `params are not JSON: ${(e as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'params must be a JSON object, e.g. {"delay": 1}' };
  return { ok: true, params: value as Record<string, unknown> };
}
