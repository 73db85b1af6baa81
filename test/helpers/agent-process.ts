import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './project-root.js';
import { registerCleanup } from './router.js';
import { waitFor } from './wait.js';

export interface AgentProcess {
  child: ChildProcess;
  /** Every stdout line parsed as a JSON log record (non-JSON lines as {raw}). */
  records: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

export const OCS_BIN = (): string => join(projectRoot(), 'dist', 'bin', 'ocs.js');

/** Spawns `ocs <args>` from the built dist (npm test builds first) and kills it at test end. */
export function spawnOcs(args: string[], env: Record<string, string> = {}): AgentProcess {
  const child = spawn(process.execPath, [OCS_BIN(), ...args], {
    env: { ...process.env, LOGLEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        records.push({ raw: line });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  registerCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    records,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    waitForLog: (msg, timeoutMs = 15_000) =>
      waitFor(
        () => records.find((r) => (typeof msg === 'string' ? r['msg'] === msg : msg.test(String(r['msg'] ?? r['raw'] ?? '')))),
        { timeoutMs, what: `log line ${String(msg)}; stderr: ${err.slice(-500)}` },
      ),
  };
}

/** Runs `ocs agent --site-file F --instance-id ID` and waits until it has joined and registered. */
export async function startAgent(siteFile: string, instanceId: string, extraArgs: string[] = []): Promise<AgentProcess> {
  const p = spawnOcs(['agent', '--site-file', siteFile, '--instance-id', instanceId, ...extraArgs]);
  await p.waitForLog('joined and registered');
  return p;
}
