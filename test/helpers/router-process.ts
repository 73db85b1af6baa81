import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from './project-root.js';

/**
 * Runs the router in its own process (`node dist/bin/ocs.js router --port 0`), as a deployment
 * would, and reads its URL from the one line it prints once it accepts connections.
 */

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const READY_LINE = /^router listening on (ws:\/\/[^\s]+)$/;

const live = new Set<ChildProcess>();
let isExitHookInstalled = false;

/** Kills every router this process started and has not stopped yet (exit and signal paths). */
export function killAllRouterProcesses(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export interface RouterProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

export async function spawnRouterProcess(extraArgs: string[] = [], entryOverride?: string): Promise<RouterProcess> {
  // OCS_BENCH_ROUTER_ENTRY: another build's dist/bin/ocs.js, to compare two builds under the same load;
  // entryOverride: another router behind the same command line (the benchmark's fox-wamp entry)
  const entry = entryOverride ?? process.env['OCS_BENCH_ROUTER_ENTRY'] ?? join(projectRoot(), 'dist', 'bin', 'ocs.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  if (!isExitHookInstalled) {
    process.once('exit', killAllRouterProcesses);
    isExitHookInstalled = true;
  }
  // e.g. OCS_BENCH_ROUTER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the router
  const nodeFlags = (process.env['OCS_BENCH_ROUTER_NODE_FLAGS'] ?? '').split(/\s+/).filter((f) => f.length > 0);
  // e.g. OCS_BENCH_ROUTER_ARGS="--young-gen-mb 0" to compare router options under the same load
  const routerArgs = (process.env['OCS_BENCH_ROUTER_ARGS'] ?? '').split(/\s+/).filter((a) => a.length > 0);
  const child = spawn(process.execPath, [...nodeFlags, entry, 'router', '--host', '127.0.0.1', '--port', '0', ...routerArgs, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`router did not report listening within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      lines.on('line', (line) => {
        const m = READY_LINE.exec(line.trim());
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`router exited with ${child.exitCode ?? child.signalCode} before listening: ${stderr.trim()}`));
      });
    });
    return {
      pid: child.pid!,
      url,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
}
