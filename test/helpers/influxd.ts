/**
 * Starts a private InfluxDB 1.x (`influxd`) for tests: its config, data, meta and WAL live in a
 * temporary directory, it listens on free loopback ports, reports nothing home and logs to a file
 * in that directory. `stop()` sends SIGTERM, then SIGKILL, and removes the directory; `restart()`
 * stops and starts the same server (same ports, same data). Register `stop()` with
 * `afterAll`/`onTestFinished` right after starting; a process exit handler kills the child too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSync, closeSync } from 'node:fs';
import type { InfluxStatementResult } from '../../lib/influx/influx-http.js';

export const INFLUXD_BIN = '/usr/bin/influxd';

export interface RunningInfluxd {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The temporary directory holding config, data and the log. */
  dir: string;
  /** The server's process id while it runs. */
  pid(): number | undefined;
  stop(): Promise<void>;
  /** Stops the server (SIGTERM, waits for the exit) and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops the server without removing its data; `start()` brings it back. */
  pause(): Promise<void>;
  start(): Promise<void>;
  /** Runs InfluxQL; throws when the HTTP request or a statement fails. Times are epoch ns. */
  query(q: string, db?: string): Promise<InfluxStatementResult[]>;
  /** The last lines of the server log. */
  logTail(lines?: number): Promise<string>;
}

export interface StartInfluxdOptions {
  bin?: string;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let isExitHookInstalled = false;

function installExitHook(): void {
  if (isExitHookInstalled) return;
  isExitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/**
 * `count` distinct free TCP ports on 127.0.0.1: all are held until every one is picked, so the
 * kernel cannot hand out the same port twice; they are released before influxd binds them.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}

/** How often the first start picks new ports when one was taken meanwhile. */
const PORT_ATTEMPTS = 5;

function configToml(dir: string, httpPort: number, rpcPort: number): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${join(dir, 'meta')}"
  logging-enabled = false

[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false
  wal-fsync-delay = "0s"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "warn"
`;
}

export async function startInfluxd(options: StartInfluxdOptions = {}): Promise<RunningInfluxd> {
  installExitHook();
  const bin = options.bin ?? INFLUXD_BIN;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const dir = await mkdtemp(join(tmpdir(), 'ocs-influxd-'));
  const configPath = join(dir, 'influxdb.conf');
  const logPath = join(dir, 'influxd.log');
  let port = 0;
  let url = '';
  const choosePorts = async (): Promise<void> => {
    const [httpPort, rpcPort] = (await freePorts(2)) as [number, number];
    port = httpPort;
    url = `http://127.0.0.1:${port}`;
    await writeFile(configPath, configToml(dir, httpPort, rpcPort));
  };
  let child: ChildProcess | undefined;
  let isRemoved = false;

  const logTail = async (lines = 30): Promise<string> => {
    try {
      return (await readFile(logPath, 'utf8')).split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  const start = async (): Promise<void> => {
    if (isRemoved) throw new Error('influxd: already stopped and removed');
    if (child) return;
    const fd = openSync(logPath, 'a');
    const proc = spawn(bin, ['run', '-config', configPath], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child = proc;
    live.add(proc);
    const exited = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new Error(`influxd failed to start: ${err.message}`)));
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        if (child === proc) child = undefined;
        reject(new Error(`influxd exited during startup (code ${code}, signal ${signal})`));
      });
    });
    exited.catch(() => undefined);
    const deadline = Date.now() + startTimeoutMs;
    const ready = (async () => {
      for (;;) {
        try {
          const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
          if (res.status === 204) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`influxd did not answer /ping within ${startTimeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await Promise.race([ready, exited]);
    } catch (err) {
      await stopChild();
      throw new Error(`${(err as Error).message}\n--- influxd log (${logPath}) ---\n${await logTail()}`);
    }
  };

  const stopChild = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) {
      live.delete(proc);
      return;
    }
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), stopTimeoutMs);
    await gone;
    clearTimeout(timer);
    live.delete(proc);
  };

  const query = async (q: string, db?: string): Promise<InfluxStatementResult[]> => {
    const params = new URLSearchParams({ q, epoch: 'ns' });
    if (db) params.set('db', db);
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`influx query failed (${res.status}): ${text}`);
    const body = JSON.parse(text) as { results?: InfluxStatementResult[]; error?: string };
    if (body.error) throw new Error(`influx query failed: ${body.error}`);
    const results = body.results ?? [];
    const failed = results.find((r) => r.error);
    if (failed) throw new Error(`influx query failed: ${failed.error} (${q})`);
    return results;
  };

  // The ports are free when picked, but another process may bind one before influxd does:
  // then influxd exits at startup, and it starts again on other ports (before anyone knows them).
  for (let attempt = 1; ; attempt++) {
    await choosePorts();
    try {
      await start();
      break;
    } catch (err) {
      const isPortTaken = /address already in use/.test((err as Error).message);
      if (!isPortTaken || attempt >= PORT_ATTEMPTS) {
        isRemoved = true;
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      for (const sub of ['influxd.log', 'meta', 'data', 'wal']) await rm(join(dir, sub), { recursive: true, force: true });
    }
  }
  return {
    url,
    port,
    dir,
    pid: () => child?.pid,
    start,
    pause: stopChild,
    restart: async () => {
      await stopChild();
      await start();
    },
    stop: async () => {
      await stopChild();
      if (!isRemoved) {
        isRemoved = true;
        await rm(dir, { recursive: true, force: true });
      }
    },
    query,
    logTail,
  };
}
