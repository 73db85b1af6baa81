#!/usr/bin/env node
/**
 * `npm install` (and so `npm start`) builds through `prepare`; this builds only when a source is
 * newer than the last build. `--stamp` (the end of `npm run build`) records a finished build.
 * Sources: lib, agents, bin, the test folders the build compiles, package.json, tsconfig*.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCES = ['lib', 'agents', 'bin', 'test/bench', 'test/helpers', 'test/fixtures', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
export const STAMP = join('dist', '.build-stamp');

/** The newest modification time (ms) under `path`, skipping dot entries and results. */
export function newestMtimeMs(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry.startsWith('.') || entry === 'results' || entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  }
  return newest;
}

/** Whether `root` needs a build: no stamp, or a source newer than it. */
export function isStale(root, sources = SOURCES) {
  const stamp = join(root, STAMP);
  if (!existsSync(stamp)) return true;
  const builtAtMs = statSync(stamp).mtimeMs;
  return sources.some((s) => existsSync(join(root, s)) && newestMtimeMs(join(root, s)) > builtAtMs);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (process.argv.includes('--stamp')) {
    writeFileSync(join(root, STAMP), `${new Date().toISOString()}\n`);
  } else if (isStale(root)) {
    const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    process.exit(r.status ?? 1);
  } else {
    process.stdout.write('dist is current: nothing to build\n');
  }
}
