import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { MISSING, describeValue } from './values.js';

/** One problem in a site file, as carried in ConfigError details. */
export interface SiteIssue {
  /** Where in the file, e.g. `hosts.localhost.agent-instances[2].manage`. */
  readonly path: string;
  readonly message: string;
  /** 1-based position in the file, when known. */
  readonly line?: number;
  readonly column?: number;
}

/** Finds the 1-based line/column of a path in the source (and of `key` under it, if given). */
export type Locate = (path: readonly PropertyKey[], key?: string) => { line: number; column: number } | undefined;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'null',
};

/**
 * The per-parse error map: plain-language messages for the issues no schema words itself.
 * Schema-level messages take precedence over it.
 */
export function siteErrorMap(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return MISSING;
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => String(v)).join(', ')}, got ${describeValue(issue.input)}`;
    case 'too_small':
      return `expected at least ${String(issue.minimum)}, got ${describeValue(issue.input)}`;
    case 'too_big':
      return `expected at most ${String(issue.maximum)}, got ${describeValue(issue.input)}`;
    default:
      return undefined;
  }
}

/** `hosts.localhost.agent-instances[2].manage`; keys that are not plain words are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_/-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** Builds the ConfigError for a site file: one `<file>: <path>: <problem>` line per issue. */
export function siteConfigError(file: string, issues: readonly SiteIssue[], cause?: unknown): ConfigError {
  const message = issues.map((i) => `${file}: ${i.path}: ${i.message}`).join('\n');
  return new ConfigError(message, { details: { file, path: issues[0]?.path ?? '', issues }, cause });
}

/** Turns zod issues into SiteIssues, with positions when a locator is given. */
export function toSiteIssues(issues: readonly z.core.$ZodIssue[], locate?: Locate): SiteIssue[] {
  return issues.map((issue) => {
    const path = issue.path as PropertyKey[];
    const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const pos = locate?.(path, key);
    return pos === undefined ? { path: formatPath(path), message: issue.message } : { path: formatPath(path), message: issue.message, ...pos };
  });
}
