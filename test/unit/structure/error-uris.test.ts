import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../helpers/project-root.js';

/** Source files of lib/ and agents/ (TypeScript, the console page included). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

describe('error URIs', () => {
  it('are written only in the error catalogue (lib/errors.ts), never as string literals elsewhere', () => {
    const root = projectRoot();
    const literal = /['"`](wamp|ocs)\.error\.[a-z_.]+['"`]/;
    const offenders: string[] = [];
    for (const file of [...sources(join(root, 'lib')), ...sources(join(root, 'agents'))]) {
      const rel = relative(root, file);
      if (rel === join('lib', 'errors.ts')) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (literal.test(line) && !/^\s*(\*|\/\/)/.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
