import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STAMP, isStale } from '../../../bin/build-if-stale.mjs';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'ocs-stale-'));
  dirs.push(root);
  mkdirSync(join(root, 'lib', 'router'), { recursive: true });
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, 'lib', 'router', 'index.ts'), 'x');
  writeFileSync(join(root, 'package.json'), '{}');
  return root;
}

const at = (path: string, s: number) => utimesSync(path, s, s);

describe('build-if-stale (npm start builds only when needed)', () => {
  it('builds when no build was recorded', () => {
    expect(isStale(tree(), ['lib', 'package.json'])).toBe(true);
  });

  it('skips when every source is older than the last build, and builds again after a change', () => {
    const root = tree();
    for (const p of ['lib/router/index.ts', 'lib/router', 'lib', 'package.json']) at(join(root, p), 1000);
    writeFileSync(join(root, STAMP), 'built');
    at(join(root, STAMP), 2000);
    expect(isStale(root, ['lib', 'package.json'])).toBe(false);
    at(join(root, 'lib', 'router', 'index.ts'), 3000);
    expect(isStale(root, ['lib', 'package.json'])).toBe(true);
  });

  it('ignores dot entries (editor files) and benchmark results', () => {
    const root = tree();
    mkdirSync(join(root, 'lib', 'results'));
    writeFileSync(join(root, 'lib', '.swp'), 'x');
    writeFileSync(join(root, 'lib', 'results', 'r.json'), '{}');
    for (const p of ['lib/router/index.ts', 'lib/router', 'lib', 'package.json']) at(join(root, p), 1000);
    at(join(root, 'lib', '.swp'), 5000);
    at(join(root, 'lib', 'results', 'r.json'), 5000);
    at(join(root, 'lib', 'results'), 5000);
    writeFileSync(join(root, STAMP), 'built');
    at(join(root, STAMP), 2000);
    at(join(root, 'lib'), 1000);
    expect(isStale(root, ['lib', 'package.json'])).toBe(false);
  });
});
