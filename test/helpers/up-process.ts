import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { killEverything } from '../integration/supervisor/process-fixtures.js';
import { OCS_BIN } from './agent-process.js';
import { projectRoot } from './project-root.js';
import { waitFor } from './wait.js';

export const DEFAULT_SITE = join(projectRoot(), 'site-config', 'default.yaml');
/** Router, HostManager and three agents starting on a busy two-core machine. */
export const UP_TIMEOUT_MS = 60_000;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface UpProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stateDir: string;
  /** the site file `ocs up` runs on */
  siteFile: string;
  /** metrics ports by instance id (registry, hm-localhost) */
  metricsPorts: Readonly<Record<string, number>>;
  /** stdout and stderr so far */
  output(): string;
  exited: Promise<number | null>;
  /** Waits for a whole line of output. */
  waitForLine(line: string, timeoutMs?: number): Promise<void>;
  /** Removes the folder and kills whatever carries its state dir's marker. */
  cleanup(): void;
}

/**
 * Runs `ocs up` on site-config/default.yaml with only the hub moved to a free port (the machine
 * is shared), in a fresh folder with its own state and log dirs: exactly what `npm start` runs.
 * `hub` sets more hub keys (e.g. `identities: true`). `metricsPorts` of the result are the
 * registry's and the HostManager's metrics ports, moved to free ones too.
 */
export async function startUp(options: { hub?: Record<string, unknown> } = {}): Promise<UpProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ocs-up-'));
  const stateDir = join(dir, 'state');
  const port = await freePort();
  const doc = parse(readFileSync(DEFAULT_SITE, 'utf8')) as { hub: Record<string, unknown>; hosts: Record<string, { 'agent-instances': { arguments?: unknown[] }[] }> };
  Object.assign(doc.hub, options.hub ?? {});
  // the metrics ports too: tests share the machine
  const metricsPorts: Record<string, number> = {};
  for (const host of Object.values(doc.hosts)) {
    for (const inst of host['agent-instances'] as { 'instance-id': string; arguments?: unknown[] }[]) {
      const args = inst.arguments ?? [];
      const at = args.indexOf('--metrics-port');
      if (at >= 0) {
        const p = await freePort();
        args[at + 1] = p;
        metricsPorts[inst['instance-id']] = p;
      }
    }
  }
  doc.hub['wamp_server'] = `ws://127.0.0.1:${port}/ws`;
  doc.hub['wamp_http'] = `http://127.0.0.1:${port}/call`;
  const siteFile = join(dir, 'default.yaml');
  writeFileSync(siteFile, stringify(doc));
  const child = spawn(process.execPath, [OCS_BIN(), 'up', '--site-file', siteFile, '--site-host', 'localhost', '--state-dir', stateDir, '--log-dir', join(dir, 'logs')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    stateDir,
    metricsPorts,
    siteFile,
    output: () => out,
    exited,
    waitForLine: (line, timeoutMs = UP_TIMEOUT_MS) => waitFor(() => out.includes(`${line}\n`), { timeoutMs, what: `"${line}" in: ${out}` }).then(() => undefined),
    cleanup: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      killEverything(stateDir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
