import { readFileSync } from 'node:fs';
import { LineCounter, Scalar, isMap, isNode, isScalar, parseDocument, type Document, type Tags } from 'yaml';
import { ConfigError } from '../errors.js';
import { deepFreeze } from './deep-freeze.js';
import { siteConfigError, siteErrorMap, toSiteIssues, type Locate } from './issues.js';
import { SiteConfigSchema, type SiteConfig } from './schema.js';

/**
 * The YAML dialect of OCS's loader (PyYAML `safe_load`, YAML 1.1): `yes`/`no`/`on`/`off` are
 * booleans, `010` is octal, `1:30` is 90. Two PyYAML details the yaml package's 1.1 schema
 * does not share: `y`/`n` stay strings, and dates stay strings (Python's str() of a date is
 * the same text).
 */
function pyyamlTags(tags: Tags): Tags {
  const BOOL = 'tag:yaml.org,2002:bool';
  const TIMESTAMP = 'tag:yaml.org,2002:timestamp';
  const kept = tags.filter((t) => !(typeof t === 'object' && 'tag' in t && (t.tag === BOOL || t.tag === TIMESTAMP)));
  return [
    ...kept,
    { identify: (v: unknown) => v === true, default: true, tag: BOOL, test: /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/, resolve: () => new Scalar(true) },
    { identify: (v: unknown) => v === false, default: true, tag: BOOL, test: /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/, resolve: () => new Scalar(false) },
  ];
}

function locator(doc: Document, lines: LineCounter): Locate {
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  return (path, key) => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
      if (!isNode(node) || node.range === undefined || node.range === null) continue;
      if (n === path.length && key !== undefined && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        if (pair !== undefined && isScalar(pair.key) && pair.key.range) return at(pair.key.range[0]);
      }
      return at(node.range[0]);
    }
    return undefined;
  };
}

/**
 * Parses and validates site-file text. `file` names the source in messages. Returns a
 * deep-frozen config; throws ConfigError (`<file>: <path>: <problem>`, or
 * `<file>:<line>:<column>: <problem>` for YAML syntax).
 */
export function parseSiteConfig(text: string, file: string): SiteConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { version: '1.1', customTags: pyyamlTags, lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = syntax.linePos?.[0] ?? lines.linePos(syntax.pos[0]);
    const what = syntax.message.split('\n')[0] ?? syntax.message;
    const issues = doc.errors.map((e) => {
      const p = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      return { path: '(top level)', message: e.message.split('\n')[0] ?? e.message, line: p.line, column: p.col };
    });
    throw new ConfigError(`${file}:${pos.line}:${pos.col}: YAML syntax error: ${what}`, {
      details: { file, path: '(top level)', line: pos.line, column: pos.col, issues },
      cause: syntax,
    });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw siteConfigError(file, [{ path: '(top level)', message: `cannot read the YAML: ${(e as Error).message}` }], e);
  }
  if (data === null || data === undefined) throw siteConfigError(file, [{ path: '(top level)', message: 'the file is empty' }]);
  const parsed = SiteConfigSchema.safeParse(data, { error: siteErrorMap });
  if (!parsed.success) throw siteConfigError(file, toSiteIssues(parsed.error.issues, locator(doc, lines)), parsed.error);
  return deepFreeze(parsed.data);
}

/** Reads one site file once and returns it validated and deep-frozen (see parseSiteConfig). */
export function loadSiteConfig(path: string): SiteConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw siteConfigError(path, [{ path: '(top level)', message: `cannot read the site file: ${reason}` }], e);
  }
  return parseSiteConfig(text, path);
}
