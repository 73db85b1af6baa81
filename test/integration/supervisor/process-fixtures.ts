/** Shared helpers for supervisor tests with real processes. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const FIXTURE_CHILD = join(ROOT, 'dist/test/fixtures/processes/child.js');
export const FIXTURE_HOST = join(ROOT, 'dist/test/fixtures/processes/supervisor-host.js');

export function assertBuilt(): void {
  for (const f of [FIXTURE_CHILD, FIXTURE_HOST, join(ROOT, 'dist/lib/supervisor/supervisor.js')]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build first`);
  }
}

/** argv running the child fixture with flags. */
export function childCmd(...flags: (string | number)[]): string[] {
  return [process.execPath, FIXTURE_CHILD, ...flags.map(String)];
}

export function makeStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'ocs-sup-test-'));
}

/** Pids of every process whose environment mentions `needle` (our children and their children). */
export function pidsWithEnv(needle: string): number[] {
  if (needle.length < 8) throw new Error(`refusing to match processes by a short needle '${needle}'`);
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'utf8').includes(needle)) out.push(Number(name));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

export function procState(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== null && s !== 'Z' && s !== 'X';
}

/** SIGKILLs every process started under `stateDir` (found by the env marker). */
export function killEverything(stateDir: string): void {
  killPids(pidsWithEnv(stateDir));
}

/** SIGKILLs the given pids (0 and negatives are ignored). */
export function killPids(pids: number[]): void {
  for (const pid of pids.filter((p) => p > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
