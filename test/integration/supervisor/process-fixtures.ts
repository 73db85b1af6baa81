/** Shared helpers for supervisor tests with real processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor, type SupervisorOptions } from '../../../lib/supervisor/supervisor.js';
import type { SupervisedEntry } from '../../../lib/supervisor/supervised-entry.js';

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

export interface HostMessage {
  event: string;
  [key: string]: unknown;
}

/** The supervisor core running in its own node process (dist/test/fixtures/processes/supervisor-host.js). */
export class SupervisorHost {
  readonly messages: HostMessage[] = [];
  private waiters: { check: (m: HostMessage) => boolean; resolve: (m: HostMessage) => void }[] = [];
  private exited: Promise<void>;
  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout as Readable }).on('line', (line) => {
      let msg: HostMessage;
      try {
        msg = JSON.parse(line) as HostMessage;
      } catch {
        return;
      }
      this.messages.push(msg);
      for (const w of [...this.waiters]) {
        if (w.check(msg)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
    });
    this.exited = new Promise((res) => child.once('exit', () => res()));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async start(args: string[]): Promise<{ host: SupervisorHost; ready: HostMessage }> {
    const child = spawn(process.execPath, [FIXTURE_HOST, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const host = new SupervisorHost(child);
    const ready = await host.next((m) => m.event === 'ready' || m.event === 'error', 15_000);
    return { host, ready };
  }

  next(check: (m: HostMessage) => boolean, timeoutMs = 10_000): Promise<HostMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`supervisor host: no matching message within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        check,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  async request(verb: string, ...args: unknown[]): Promise<HostMessage> {
    const reply = this.next((m) => m.event === 'reply');
    this.child.stdin?.write(`${JSON.stringify({ verb, args })}\n`);
    return reply;
  }

  /** SIGKILL the supervisor and wait until it is gone. */
  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Orderly stop (SIGTERM: die with stop) and wait. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * A supervisor over a fresh state directory, initialised with `entries`; `cleanups` gets its
 * shutdown, the SIGKILL of everything it started and the removal of the directory.
 */
export async function superviseEntries(
  entries: SupervisedEntry[],
  cleanups: (() => Promise<void> | void)[],
  options: Partial<SupervisorOptions> = {},
): Promise<Supervisor> {
  const stateDir = makeStateDir();
  const sup = new Supervisor({ pollIntervalMs: 100, ...options, stateDir });
  cleanups.push(() => removeDir(stateDir));
  cleanups.push(() => killEverything(stateDir));
  cleanups.push(async () => {
    await sup.die({ mode: 'stop', timeoutMs: 3000 });
  });
  await sup.init(entries);
  return sup;
}
