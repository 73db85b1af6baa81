/**
 * A cluster of HostManagers on one machine for the orchestrator's process tests and benchmark:
 * pseudo-hosts `h1`, `h2`, `h3` (each a HostManager started with `--site-host hN`, its own state
 * dir), a Registry under the host `infra`, and a `services:` block, all in one site file on a
 * given router. No vitest here (the benchmark uses it too): the caller closes the cluster.
 *
 * Every process started here is SIGKILLed by `close()`: the HostManagers by pid, their children
 * by the supervisor marker (the state dir) in their environment. Nothing is matched by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { OcsClient } from '../../../lib/client/ocs-client.js';
import type { OpReply } from '../../../lib/client/op-reply.js';
import { projectRoot } from '../../helpers/project-root.js';
import { isAlive, killPids, pidsWithEnv, procState } from '../supervisor/process-fixtures.js';

export const HOSTS = ['h1', 'h2', 'h3'] as const;
export const SERVICE = 'fake-cluster';
/** Start-up of an `ocs agent` process on a busy two-core machine. */
export const START_TIMEOUT_MS = 30_000;

export interface ClusterRouter {
  url: string;
  httpUrl: string | null;
  realm: string;
}

export interface ClusterOptions {
  router: ClusterRouter;
  hosts?: readonly string[];
  /** Extra HostManager arguments (site file), e.g. `['--failover-grace', 2, '--ready-period', 2]`. */
  hmArgs?: readonly (string | number)[];
  /** RegistryAgent arguments, e.g. `['--agent-timeout', 3]`. */
  registryArgs?: readonly (string | number)[];
  /** The `services:` block; default: `fake-cluster` (one FakeDataAgent, nodes-order over every host). */
  services?: Record<string, unknown>;
}

/** The orchestrator's session data (the parts the tests read). */
export interface OrchestratorData {
  node: string;
  frozen: boolean;
  registry: { healthy: boolean; blind: boolean; blind_reason: string | null };
  nodes: Record<string, { alive: boolean; dead: boolean; frozen: boolean }>;
  services: Record<
    string,
    {
      global_expect: string;
      holders: { instance_id: string; node: string; epoch: number; state: string | null }[];
      local: Record<string, { monitor: string; state: string | null; epoch: number }>;
      blocked: string[];
      last_failover: { from: string; to: string } | null;
    }
  >;
  actions: { t: number; type: string; instance_id: string; reason: string; ok: boolean }[];
}

interface HostProcess {
  child: ChildProcess;
  exited: Promise<void>;
  lines: string[];
}

const LOG_LINES_KEPT = 200;
const OCS_BIN = (): string => join(projectRoot(), 'dist', 'bin', 'ocs.js');

function spawnAgent(siteFile: string, host: string, instanceId: string): { proc: HostProcess; joined: Promise<void> } {
  const child = spawn(process.execPath, [OCS_BIN(), 'agent', '--site-file', siteFile, '--site-host', host, '--instance-id', instanceId], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOGLEVEL: 'info' },
  });
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > LOG_LINES_KEPT) lines.splice(0, lines.length - LOG_LINES_KEPT);
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const joined = new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${instanceId}: not joined within ${START_TIMEOUT_MS} ms:\n${lines.slice(-20).join('\n')}`)), START_TIMEOUT_MS);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        keep(line);
        if (line.includes('"joined and registered"')) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => keep(chunk.trimEnd()));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${instanceId} exited before joining:\n${lines.slice(-20).join('\n')}`));
    });
  });
  joined.catch(() => undefined);
  return { proc: { child, exited, lines }, joined };
}

export class Cluster {
  readonly dir: string;
  readonly siteFile: string;
  readonly addressRoot: string;
  readonly hosts: readonly string[];
  private readonly hms = new Map<string, HostProcess>();
  private readonly clients = new Map<string, OcsClient>();
  private registry: HostProcess | null = null;
  private sampler: ReturnType<typeof setInterval> | undefined;
  private copies = 0;
  private doc: Record<string, unknown>;

  constructor(private readonly options: ClusterOptions) {
    this.hosts = options.hosts ?? HOSTS;
    this.dir = mkdtempSync(join(tmpdir(), 'ocs-cluster-'));
    this.siteFile = join(this.dir, 'site.yaml');
    this.addressRoot = `c${Math.random().toString(36).slice(2, 10)}`;
    const hosts: Record<string, unknown> = {
      infra: { 'agent-instances': [{ 'agent-class': 'RegistryAgent', 'instance-id': 'registry', manage: 'ignore', arguments: [...(options.registryArgs ?? [])] }] },
    };
    for (const h of this.hosts) {
      hosts[h] = {
        'agent-instances': [
          { 'agent-class': 'HostManager', 'instance-id': this.hmId(h), manage: 'ignore', arguments: ['--state-dir', this.stateDir(h), ...(options.hmArgs ?? [])] },
        ],
      };
    }
    const services = options.services ?? { [SERVICE]: { 'agent-class': 'FakeDataAgent', hosts: [...this.hosts], placement: 'nodes-order', arguments: ['--mode', 'idle'] } };
    this.doc = {
      hub: { wamp_server: options.router.url, ...(options.router.httpUrl !== null ? { wamp_http: options.router.httpUrl } : {}), wamp_realm: options.router.realm, address_root: this.addressRoot },
      hosts,
      services,
    };
    writeFileSync(this.siteFile, stringify(this.doc));
  }

  /** Writes the site file again with another `services:` block (the HostManagers read it on a reload). */
  rewriteServices(services: Record<string, unknown>): void {
    this.doc = { ...this.doc, services };
    writeFileSync(this.siteFile, stringify(this.doc));
  }

  hmId(host: string): string {
    return `hm-${host}`;
  }

  stateDir(host: string): string {
    return join(this.dir, host);
  }

  isUp(host: string): boolean {
    const p = this.hms.get(host);
    return p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
  }

  upHosts(): string[] {
    return this.hosts.filter((h) => this.isUp(h));
  }

  async startRegistry(): Promise<void> {
    const { proc, joined } = spawnAgent(this.siteFile, 'infra', 'registry');
    this.registry = proc;
    await joined;
  }

  /** Starts host's HostManager and waits until it has joined the router. */
  async startHost(host: string): Promise<void> {
    if (this.isUp(host)) throw new Error(`${host} is already up`);
    const { proc, joined } = spawnAgent(this.siteFile, host, this.hmId(host));
    this.hms.set(host, proc);
    await joined;
  }

  /** SIGKILL to the host's HostManager and to every child of its supervisor (found by the state-dir marker). */
  async killHost(host: string): Promise<void> {
    const p = this.hms.get(host);
    if (p !== undefined && this.isUp(host)) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    const children = pidsWithEnv(this.stateDir(host));
    killPids(children);
    await poll(() => children.every((pid) => !isAlive(pid)) || null, START_TIMEOUT_MS, `${host}'s children gone`, 20);
  }

  /** SIGTERM to the host's HostManager (an orderly stop: its instances stop and peers take over). */
  async stopHost(host: string): Promise<void> {
    const p = this.hms.get(host);
    if (p === undefined || !this.isUp(host)) return;
    p.child.kill('SIGTERM');
    await Promise.race([p.exited, sleep(START_TIMEOUT_MS).then(() => p.child.kill('SIGKILL'))]);
    await p.exited;
  }

  /** The last log lines of a host's HostManager (for failure messages). */
  logTail(host: string, n = 30): string {
    return (this.hms.get(host)?.lines ?? []).slice(-n).join('\n');
  }

  /** The last log lines of the Registry (for failure messages). */
  registryLogTail(n = 30): string {
    return (this.registry?.lines ?? []).slice(-n).join('\n');
  }

  async client(host: string): Promise<OcsClient> {
    return this.agentClient(this.hmId(host));
  }

  /** A client of any agent of the site (one per instance id, closed by `close`). */
  async agentClient(instanceId: string): Promise<OcsClient> {
    let client = this.clients.get(instanceId);
    if (client === undefined) {
      const { url, httpUrl, realm } = this.options.router;
      client = await OcsClient.connect(instanceId, { url, ...(httpUrl !== null ? { httpUrl } : {}), realm, addressRoot: this.addressRoot, transport: 'wamp', callTimeoutMs: 10_000 });
      this.clients.set(instanceId, client);
    }
    return client;
  }

  /** The Registry's table (`main` session data): agent address → record. */
  async registryTable(): Promise<Record<string, { expired: boolean; last_updated: number }>> {
    const reply = await (await this.agentClient('registry')).op('main').status();
    const data = 'data' in reply.session ? (reply.session.data as Record<string, unknown>) : {};
    return data as Record<string, { expired: boolean; last_updated: number }>;
  }

  /** The `manager` child_states of a host's HostManager (instance id → state), or null. */
  async childStates(host: string): Promise<Record<string, string> | null> {
    try {
      const reply = await (await this.client(host)).op('manager').status();
      const entries = 'data' in reply.session ? (reply.session.data as { child_states?: { instance_id: string; state: string }[] }).child_states : undefined;
      return entries === undefined ? null : Object.fromEntries(entries.map((e) => [e.instance_id, e.state]));
    } catch {
      return null;
    }
  }

  /** The `orchestrator` session data of a host, or null when it cannot be read. */
  async orchestrator(host: string): Promise<OrchestratorData | null> {
    try {
      const reply = await (await this.client(host)).op('orchestrator').status();
      if (!('data' in reply.session) || reply.session.status !== 'running' || !('services' in reply.session.data)) return null;
      return reply.session.data as unknown as OrchestratorData;
    } catch {
      return null;
    }
  }

  /** Runs a task on a host's HostManager and waits for its end. */
  async task(host: string, name: string, params: Record<string, unknown> = {}): Promise<OpReply> {
    return (await this.client(host)).task(name).call(params, { timeoutS: 30 });
  }

  /** Pids of the live processes of a service instance, on any host (by their command line). */
  instancePids(instanceId: string = SERVICE): number[] {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      const i = argv.indexOf('--instance-id');
      if (i < 0 || argv[i + 1] !== instanceId || !argv.includes(this.siteFile)) continue;
      const state = procState(Number(name));
      if (state !== null && state !== 'Z' && state !== 'X') out.push(Number(name));
    }
    return out;
  }

  /** Host of each live process of the instance (its `--site-host`). */
  instanceHosts(instanceId: string = SERVICE): string[] {
    return this.instancePids(instanceId).map((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv[argv.indexOf('--site-host') + 1] ?? '?';
      } catch {
        return '?';
      }
    });
  }

  /** Starts of the instance on each host so far: its supervisor's transitions to STARTING (history files). */
  starts(instanceId: string = SERVICE): Record<string, number> {
    const out: Record<string, number> = {};
    for (const h of this.hosts) {
      out[h] = 0;
      const dir = this.stateDir(h);
      if (!existsSync(dir)) continue;
      for (const file of readdirSync(dir).filter((f) => /^history-\d\d\.jsonl(\.\d+)?$/.test(f))) {
        for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
          if (!line.includes('"STARTING"')) continue;
          try {
            const rec = JSON.parse(line) as { kind?: string; id?: string; to?: string };
            if (rec.kind === 'transition' && rec.id === instanceId && rec.to === 'STARTING') out[h] += 1;
          } catch {
            // a line being written
          }
        }
      }
    }
    return out;
  }

  totalStarts(instanceId: string = SERVICE): number {
    return Object.values(this.starts(instanceId)).reduce((a, b) => a + b, 0);
  }

  /**
   * The holder every up host agrees on: each up host's view shows exactly one holder of the
   * instance, the same host, RUNNING, and exactly one process of it runs. Else null.
   */
  async agreedHolder(instanceId: string = SERVICE, service: string = SERVICE): Promise<string | null> {
    const up = this.upHosts();
    if (up.length === 0) return null;
    const views = await Promise.all(up.map((h) => this.orchestrator(h)));
    let holder: string | null = null;
    for (const view of views) {
      const holders = view?.services[service]?.holders.filter((x) => x.instance_id === instanceId) ?? [];
      if (holders.length !== 1 || holders[0]!.state !== 'RUNNING') return null;
      if (holder !== null && holders[0]!.node !== holder) return null;
      holder = holders[0]!.node;
    }
    const hosts = this.instanceHosts(instanceId);
    return hosts.length === 1 && hosts[0] === holder ? holder : null;
  }

  /** Waits for `agreedHolder`; on a timeout the error shows every up host's view of the service. */
  async settledHolder(what: string, timeoutMs: number, intervalMs = 100): Promise<string> {
    try {
      return await poll(() => this.agreedHolder(), timeoutMs, what, intervalMs);
    } catch (err) {
      const views = await Promise.all(this.upHosts().map(async (h) => [h, await this.orchestrator(h)] as const));
      const detail = Object.fromEntries(views.map(([h, v]) => [h, v === null ? null : { registry: v.registry, nodes: v.nodes, service: v.services[SERVICE] }]));
      throw new Error(`${(err as Error).message}\nviews: ${JSON.stringify(detail)}\nprocesses on: ${this.instanceHosts().join(', ') || 'none'}`);
    }
  }

  /** Every up host sees no holder and no process of the instance runs. */
  async isStoppedEverywhere(instanceId: string = SERVICE, service: string = SERVICE): Promise<boolean> {
    const views = await Promise.all(this.upHosts().map((h) => this.orchestrator(h)));
    if (views.some((v) => v === null || (v.services[service]?.holders.some((x) => x.instance_id === instanceId) ?? true))) return false;
    return this.instancePids(instanceId).length === 0;
  }

  /** Starts the registry and every host, and the copies sampler (see `mostCopies`). */
  async start(): Promise<void> {
    await this.startRegistry();
    await Promise.all(this.hosts.map((h) => this.startHost(h)));
    this.sampler = setInterval(() => {
      this.copies = Math.max(this.copies, this.instancePids().length);
    }, 100);
  }

  /** The most processes of the service instance seen at once by a /proc scan every 100 ms since `start`. */
  get mostCopies(): number {
    return this.copies;
  }

  async close(): Promise<void> {
    clearInterval(this.sampler);
    for (const client of this.clients.values()) await client.close().catch(() => undefined);
    this.clients.clear();
    for (const p of [...this.hms.values(), ...(this.registry !== null ? [this.registry] : [])]) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    for (const h of this.hosts) killPids(pidsWithEnv(this.stateDir(h)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` every `intervalMs` until it returns a non-null value, or throws after `timeoutMs`. */
export async function poll<T>(check: () => Promise<T | null> | T | null, timeoutMs: number, what: string, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
