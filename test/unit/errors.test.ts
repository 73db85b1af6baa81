import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOGUE, errorFromWamp, AgentUnavailableError, OpTimeoutError, InternalError, InvalidParamsError } from '../../lib/errors.js';

describe('errors', () => {
  it('gives every catalogue entry a unique code and URI', () => {
    const codes = ERROR_CATALOGUE.map((c) => c.CODE);
    const uris = ERROR_CATALOGUE.map((c) => c.URI);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(uris).size).toBe(uris.length);
  });

  it('lists every catalogue entry in the README error table and nothing else', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.split('## Errors')[1]?.split('\n## ')[0] ?? '';
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| `([a-z_.]+)` \|/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(ERROR_CATALOGUE.map((c) => [c.CODE, c.URI]));
  });

  it('rebuilds typed errors from wire URIs', () => {
    expect(errorFromWamp('wamp.error.no_such_procedure')).toBeInstanceOf(AgentUnavailableError);
    expect(errorFromWamp('wamp.error.canceled')).toBeInstanceOf(OpTimeoutError);
    const e = errorFromWamp(InvalidParamsError.URI, ['bad delay'], { code: 'INVALID_PARAMS', details: { key: 'delay' } });
    expect(e).toBeInstanceOf(InvalidParamsError);
    expect(e.message).toBe('bad delay');
    expect(e.details).toEqual({ key: 'delay' });
    const other = errorFromWamp('com.example.oops', ['x']);
    expect(other).toBeInstanceOf(InternalError);
    expect(other.details['uri']).toBe('com.example.oops');
  });
});
