/** Shared helpers for HostManager tests with real processes: a site, the agent, a client, waits. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { stringify } from 'yaml';
import { OcsClient } from '../../../lib/client/ocs-client.js';
import type { OpReply } from '../../../lib/client/op-reply.js';
import { spawnOcs, type AgentProcess } from '../../helpers/agent-process.js';
import type { TestRouter } from '../../helpers/router.js';
import type { SiteInstance } from '../../helpers/site-file.js';
import { waitFor } from '../../helpers/wait.js';
import { killEverything, makeStateDir, removeDir } from '../supervisor/process-fixtures.js';

/** Agent start-up on a busy two-core machine, plus the readiness of its first heartbeat. */
export const AGENT_TIMEOUT_MS = 30_000;

export interface ChildStateEntry {
  instance_id: string;
  agent_class: string;
  next_action: string;
  target_state: string;
  stability: number;
  operable: boolean;
  restart_required: boolean;
  state: string;
}

export interface ServiceView {
  state: string;
  pid: number | null;
  attempt: number;
  restarts: number;
  adopted: boolean;
  reason: string;
  last_exit: { exit: unknown; classification: string; message: string } | null;
  restart_required: boolean;
}

export interface ManagerData {
  supervisor: Record<string, unknown>;
  child_states: ChildStateEntry[];
  services: Record<string, ServiceView>;
  orphans: Record<string, { pid: number; service_id: string; reason: string }>;
  config_parse_status: Record<string, [boolean, number, string]>;
  registry: { liveness: string; registry_synced: boolean };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fresh state dir; at test end every process carrying its marker is SIGKILLed and the dir removed. */
export function newStateDir(): string {
  const dir = makeStateDir();
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => killEverything(dir));
  return dir;
}

export interface HmSite {
  file: string;
  addressRoot: string;
  stateDir: string;
  router: TestRouter;
}

/** Writes a site file (host `localhost`) whose HostManager `hmId` keeps its state in a fresh dir. */
export function writeHmSite(router: TestRouter, instances: SiteInstance[], options: { hmId?: string; hmArgs?: unknown[]; stateDir?: string } = {}): HmSite {
  const stateDir = options.stateDir ?? newStateDir();
  const addressRoot = `t${Math.random().toString(36).slice(2, 10)}`;
  const file = join(stateDir, 'site.yaml');
  const hm: SiteInstance = {
    'agent-class': 'HostManager',
    'instance-id': options.hmId ?? 'hm-test',
    manage: 'ignore',
    arguments: ['--state-dir', stateDir, '--poll-interval', 0.2, ...(options.hmArgs ?? [])],
  };
  writeSite(file, router, addressRoot, [hm, ...instances]);
  return { file, addressRoot, stateDir, router };
}

export function writeSite(file: string, router: TestRouter, addressRoot: string, instances: SiteInstance[]): void {
  const doc = {
    hub: { wamp_server: router.url, wamp_http: router.httpUrl, wamp_realm: router.realm, address_root: addressRoot },
    hosts: { localhost: { 'agent-instances': instances } },
  };
  writeFileSync(file, stringify(doc));
}

/** Reads the site file back as YAML text (to write a changed copy). */
export function siteText(site: HmSite): string {
  return readFileSync(site.file, 'utf8');
}

/**
 * Runs `ocs agent --site-file F --site-host localhost --instance-id ID` and waits until it has
 * joined. At test end it is SIGKILLed before its children are, so it cannot start new ones.
 */
export async function startHostManager(site: HmSite, hmId = 'hm-test', extraArgs: string[] = []): Promise<AgentProcess> {
  const p = spawnOcs(['agent', '--site-file', site.file, '--site-host', 'localhost', '--instance-id', hmId, ...extraArgs]);
  cleanups.push(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
  await p.waitForLog('joined and registered', AGENT_TIMEOUT_MS);
  return p;
}

export async function connect(site: HmSite, instanceId = 'hm-test'): Promise<OcsClient> {
  const client = await OcsClient.connect(instanceId, { url: site.router.url, httpUrl: site.router.httpUrl, realm: site.router.realm, addressRoot: site.addressRoot, transport: 'wamp' });
  cleanups.push(() => client.close());
  return client;
}

/** Starts a task and waits for its end. */
export async function task(client: OcsClient, name: string, params: Record<string, unknown> = {}): Promise<OpReply> {
  const handle = client.op(name);
  if (handle.opType !== 'task') throw new Error(`${name} is not a task`);
  return handle.call(params, { timeoutS: 60 });
}

/** The last messages of a session, as text. */
export function messagesOf(reply: OpReply): string[] {
  return 'messages' in reply.session ? reply.session.messages.map((m) => m[1]) : [];
}

export async function managerData(client: OcsClient): Promise<ManagerData> {
  const reply = await client.op('manager').status();
  if (!('data' in reply.session)) throw new Error(`manager has no session: ${reply.message}`);
  return reply.session.data as unknown as ManagerData;
}

export async function managerMessages(client: OcsClient): Promise<string[]> {
  return messagesOf(await client.op('manager').status());
}

/** Polls the manager's session data until `check` holds; returns that data. */
export async function waitData(client: OcsClient, check: (d: ManagerData) => boolean, what: string, timeoutMs = AGENT_TIMEOUT_MS): Promise<ManagerData> {
  let last: ManagerData | undefined;
  try {
    await waitFor(
      async () => {
        last = await managerData(client);
        return check(last);
      },
      { timeoutMs, intervalMs: 200, what },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last child_states: ${JSON.stringify(last?.child_states ?? null)}, registry: ${JSON.stringify(last?.registry ?? null)}`);
  }
  return last!;
}

export function stateIn(d: ManagerData, id: string): string | undefined {
  return d.child_states.find((c) => c.instance_id === id)?.state;
}

export const fakeData = (id: string, extra: Partial<SiteInstance> = {}): SiteInstance => ({ 'agent-class': 'FakeDataAgent', 'instance-id': id, ...extra });
