import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from './project-root.js';

/**
 * Runs test/python/wamp_conformance.py under Debian's /usr/bin/python3 (the interpreter that
 * sees python3-autobahn; the pyenv `python3` on PATH does not) and collects its JSON lines.
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export type Observation = Record<string, unknown>;

export interface PythonScenarioOptions {
  serializer?: 'json' | 'msgpack';
  realm?: string;
  opts?: Record<string, unknown>;
  /** Whole-run limit inside the script; the process is killed a few seconds after it. */
  timeoutS?: number;
}

export interface PythonRun {
  observations: Observation[];
  /** The script's own failure reason (`{"fail": ...}`), or the exit status when it died without one. */
  failure: string | undefined;
  exitCode: number | null;
  stderr: string;
}

function scriptPath(): string {
  return join(projectRoot(), 'test', 'python', 'wamp_conformance.py');
}

let isChecked = false;

/** Throws (never skips) when /usr/bin/python3 cannot import autobahn, twisted and msgpack. */
export function assertPythonAutobahn(): void {
  if (isChecked) return;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import autobahn, msgpack, twisted, txaio'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim().split('\n').pop();
    throw new Error(`${SYSTEM_PYTHON} cannot import python3-autobahn (${why}); run test/setup/install.sh`);
  }
  isChecked = true;
}

function scenarioArgs(scenario: string, url: string, options: PythonScenarioOptions): string[] {
  return [
    scriptPath(),
    scenario,
    url,
    '--serializer',
    options.serializer ?? 'json',
    '--realm',
    options.realm ?? 'test_realm',
    '--opts',
    JSON.stringify(options.opts ?? {}),
    '--timeout',
    String(options.timeoutS ?? 30),
  ];
}

function parseLine(line: string, into: Observation[]): void {
  if (!line.trim()) return;
  try {
    into.push(JSON.parse(line) as Observation);
  } catch {
    into.push({ unparsed: line });
  }
}

/** A running scenario (used for `serve`, which lives until `stop()`). */
export class PythonScenario {
  readonly observations: Observation[] = [];
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly child: ChildProcess,
    private readonly killAfterMs: number,
  ) {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      parseLine(line, this.observations);
      for (const l of this.listeners) l();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    const linesClosed = new Promise<void>((resolve) => lines.once('close', resolve));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        void linesClosed.then(() => {
          for (const l of this.listeners) l();
          resolve(code);
        });
      });
    });
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves with the first observation matching `predicate`; rejects if the script ends first. */
  waitFor(predicate: (o: Observation) => boolean, what: string, timeoutMs = 15_000): Promise<Observation> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.observations.find(predicate);
        if (found) {
          done();
          resolve(found);
          return true;
        }
        if (this.hasExited) {
          done();
          reject(new Error(`python scenario ended before ${what}: ${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${this.describe()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (): void => void check();
      this.listeners.add(listener);
      check();
    });
  }

  /** Waits for the script to exit (closing its stdin first when asked); kills it on overrun. */
  async finish(closeStdin = false): Promise<PythonRun> {
    if (closeStdin) this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), this.killAfterMs);
    const exitCode = await this.exited;
    clearTimeout(timer);
    const fail = this.observations.find((o) => 'fail' in o);
    let failure = fail ? String(fail['fail']) : undefined;
    if (!failure && exitCode !== 0) failure = `exit status ${exitCode ?? this.child.signalCode}${this.stderrTail()}`;
    if (!failure && !this.observations.some((o) => o['done'] === true)) failure = 'scenario did not report done';
    return { observations: this.observations, failure, exitCode, stderr: this.stderr };
  }

  kill(): void {
    if (!this.hasExited) this.child.kill('SIGKILL');
  }

  describe(): string {
    const fail = this.observations.find((o) => 'fail' in o);
    return fail ? String(fail['fail']) : `${JSON.stringify(this.observations.slice(-3))}${this.stderrTail()}`;
  }

  private stderrTail(): string {
    const tail = this.stderr.trim().split('\n').slice(-5).join('\n');
    return tail ? `\n${tail}` : '';
  }
}

/** Starts a scenario and returns while it runs. */
export function startPythonScenario(scenario: string, url: string, options: PythonScenarioOptions = {}): PythonScenario {
  assertPythonAutobahn();
  const child = spawn(SYSTEM_PYTHON, scenarioArgs(scenario, url, options), { stdio: ['pipe', 'pipe', 'pipe'] });
  return new PythonScenario(child, ((options.timeoutS ?? 30) + 5) * 1000);
}

/** Runs a scenario to completion. */
export function runPythonScenario(scenario: string, url: string, options: PythonScenarioOptions = {}): Promise<PythonRun> {
  return startPythonScenario(scenario, url, options).finish(true);
}

/** All observations that carry `key`, as their values. */
export function observed<T = unknown>(run: { observations: Observation[] }, key: string): T[] {
  return run.observations.filter((o) => key in o).map((o) => o[key] as T);
}

/** The single observation value under `key`; throws when there is none. */
export function observedOne<T = unknown>(run: { observations: Observation[] }, key: string): T {
  const values = observed<T>(run, key);
  if (values.length === 0) throw new Error(`no '${key}' observation in ${JSON.stringify(run.observations)}`);
  return values[0] as T;
}
