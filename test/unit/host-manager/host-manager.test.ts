import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WampFloat } from '../../../lib/wamp/float.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { HostManager } from '../../../agents/host-manager/agent.js';
import { EXEC_DISABLED, MANAGER_NOT_RUNNING, OP_PRIVS } from '../../../agents/host-manager/verb-tasks.js';
import { HostManagerArgsSchema } from '../../../agents/host-manager/config.js';
import { ENV_SITE_DIGEST } from '../../../agents/host-manager/entries.js';
import type { OpSession } from '../../../lib/ops/op-session.js';
import type { AccessPolicy } from '../../../lib/site-config/access-policy.js';
import { loadSiteConfig } from '../../../lib/site-config/load.js';
import { FakeControl, FakeHost } from '../../fixtures/host-manager-fakes.js';

const ROOT = 'obs';
const HM = 'hm-h1';

interface Inst {
  'agent-class': string;
  'instance-id': string;
  manage?: string;
  arguments?: unknown[];
  supervise?: Record<string, unknown>;
}

const BASE_INSTANCES: Inst[] = [
  { 'agent-class': 'HostManager', 'instance-id': HM, manage: 'host/up' },
  { 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data1', arguments: ['--mode', 'acq'], supervise: { 'max-failures': 1, 'backoff-initial-s': 0.5 } },
  { 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data2', manage: 'down' },
  { 'agent-class': 'FakeDataAgent', 'instance-id': 'lazy', manage: 'on-demand' },
  { 'agent-class': 'FakeDataAgent', 'instance-id': 'quiet', manage: 'no' },
  { 'agent-class': 'FakeDataAgent', 'instance-id': 'boxed', manage: 'docker' },
  { 'agent-class': 'MysteryAgent', 'instance-id': 'mystery' },
];

let dir: string;
let siteFile: string;
let control: FakeControl;
let host: FakeHost;
let hm: HostManager;

function writeSite(instances: Inst[]): void {
  const doc = {
    hub: { wamp_server: 'ws://127.0.0.1:1/ws', wamp_http: 'http://127.0.0.1:1/call', wamp_realm: 'test_realm', address_root: ROOT },
    hosts: { h1: { 'agent-instances': instances } },
  };
  writeFileSync(siteFile, stringify(doc));
}

async function makeHostManager(options: { allowExec?: boolean; accessPolicy?: AccessPolicy } = {}): Promise<HostManager> {
  host = new FakeHost(ROOT, HM);
  const args = HostManagerArgsSchema.parse({ state_dir: 'state', ...(options.allowExec ? { allow_exec: true } : {}) });
  const made = new HostManager(host, {
    args,
    instanceId: HM,
    addressRoot: ROOT,
    siteFile,
    site: loadSiteConfig(siteFile),
    hostKey: 'h1',
    workingDir: dir,
    logDir: null,
    accessPolicy: options.accessPolicy ?? { policy: 'none' },
    launcher: ['/usr/bin/node', '/opt/ocs/bin/ocs.js'],
    baseEnv: { PATH: '/usr/bin', LOGLEVEL: 'info' },
    knownClasses: new Set(['FakeDataAgent', 'RegistryAgent', 'HostManager']),
    processControl: control,
    supervisorOptions: { pid: 1, random: () => 0.5 },
  });
  await made.open();
  return made;
}

/** Starts an op and runs the clock until its session is done (tasks) or running (the manager). */
async function run(op: string, params: Record<string, unknown> = {}): Promise<{ code: number; message: string; session: OpSession | null }> {
  const [code, message] = host.ops.start(op, params, null, true);
  const session = host.ops.session(op);
  if (code !== 0) return { code, message, session: null };
  const isProcess = host.ops.opType(op) === 'process';
  for (let i = 0; i < 50; i++) {
    if (session?.status === 'done' || (isProcess && session?.status === 'running')) break;
    await vi.advanceTimersByTimeAsync(1);
  }
  const messages = session?.messages ?? [];
  return { code, message: String(messages[messages.length - 2]?.[1] ?? ''), session };
}

const stateOf = (id: string) => hm.supervisor?.stateOf(id) ?? null;
const pidOf = (id: string) => hm.supervisor?.get(id)?.current.pid ?? -1;

beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.UTC(2024, 0, 1));
  dir = mkdtempSync(join(tmpdir(), 'hm-unit-'));
  siteFile = join(dir, 'site.yaml');
  writeSite(BASE_INSTANCES);
  control = new FakeControl();
  hm = await makeHostManager();
});

afterEach(async () => {
  const closing = hm.closeSupervisor('disown', 1000);
  await vi.runOnlyPendingTimersAsync();
  await closing;
  hm.liveness.stop();
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('HostManager: children from the site file', () => {
  it('runs this host\'s host/up entries as `ocs agent` with the same site file; skips itself, ignore, docker and unknown classes', () => {
    expect(hm.supervisor?.ids().sort()).toEqual(['fake-data1', 'fake-data2', 'lazy']);
    expect(control.spawns).toHaveLength(1);
    const spawn = control.spawns[0]!;
    expect(spawn.cmd).toEqual(['/usr/bin/node', '/opt/ocs/bin/ocs.js', 'agent', '--site-file', siteFile, '--site-host', 'h1', '--instance-id', 'fake-data1', '--working-dir', dir]);
    expect(spawn.cwd).toBe(dir);
    expect(spawn.env).toMatchObject({ PATH: '/usr/bin', LOGLEVEL: 'info', OCS_SUPERVISED_ID: 'fake-data1', OCS_SUPERVISOR_ID: HM });
    expect(spawn.env[ENV_SITE_DIGEST]).toMatch(/^[0-9a-f]{16}$/);
    expect(stateOf('fake-data1')).toBe('STARTING');
    expect(stateOf('fake-data2')).toBe('STOPPED');
    expect(stateOf('lazy')).toBe('STOPPED');
    expect(hm.supervisor?.get('lazy')?.spec.restart.mode).toBe('never');
  });

  it('makes a child RUNNING on its first heartbeat only, and ignores heartbeats of its previous run', async () => {
    host.beat('fake-data1', 's1');
    expect(stateOf('fake-data1')).toBe('RUNNING');
    control.exit(pidOf('fake-data1'), 1);
    expect(stateOf('fake-data1')).toBe('BACKOFF');
    await vi.advanceTimersByTimeAsync(600);
    expect(stateOf('fake-data1')).toBe('STARTING');
    host.beat('fake-data1', 's1');
    expect(stateOf('fake-data1')).toBe('STARTING');
    host.beat('fake-data1', 's2');
    expect(stateOf('fake-data1')).toBe('RUNNING');
  });
});

describe('HostManager: manager and update', () => {
  it('publishes child_states as HostManager does (plus the full state) and config_parse_status', async () => {
    const { session } = await run('manager', { reload_config: false });
    expect(session?.status).toBe('running');
    await vi.advanceTimersByTimeAsync(1000);
    const data = session!.data as { child_states: Record<string, unknown>[]; config_parse_status: Record<string, unknown>; skipped: Record<string, string>; supervisor: Record<string, unknown> };
    const entry = data.child_states.find((c) => c['instance_id'] === 'fake-data1');
    expect(entry).toEqual({
      instance_id: 'fake-data1',
      agent_class: 'FakeDataAgent',
      next_action: 'wait_start',
      target_state: 'up',
      stability: 1,
      operable: true,
      restart_required: false,
      state: 'STARTING',
      rss_bytes: null,
      cpu_percent: null,
      limit_breach: null,
      waiting_for: [],
    });
    // an instance it cannot run is listed as OCS lists it: not operable, down, with the reason
    expect(data.child_states.find((c) => c['instance_id'] === 'mystery')).toEqual({
      instance_id: 'mystery',
      agent_class: 'MysteryAgent',
      next_action: 'down',
      target_state: 'up',
      stability: 1,
      operable: false,
      restart_required: false,
      state: 'UNKNOWN',
      rss_bytes: null,
      cpu_percent: null,
      limit_breach: null,
      waiting_for: [],
      reason: "unknown agent class 'MysteryAgent' (not operable)",
    });
    // times go out as floats, as OCS's Python sends them (a whole second too)
    const services = (session!.data as { services: Record<string, Record<string, unknown>> }).services;
    expect(services['fake-data1']!['since']).toBeInstanceOf(WampFloat);
    expect(services['fake-data1']!['restarts']).toBe(0);
    expect(data.config_parse_status).toEqual({ '[SCF]': [true, expect.any(Number), ''] });
    expect(data.skipped).toEqual({ boxed: expect.stringContaining('docker'), mystery: expect.stringContaining("unknown agent class 'MysteryAgent'") });
    expect(data.supervisor).toMatchObject({ instance_id: HM, host: 'h1', allow_exec: false, reconciled: true });
  });

  it('is DEGRADED (op code 8) while a child is CRASHED, with the failure in the session messages', async () => {
    const { session } = await run('manager', { reload_config: false });
    host.beat('fake-data1', 's1');
    control.exit(pidOf('fake-data1'), 1);
    await vi.advanceTimersByTimeAsync(600);
    control.exit(pidOf('fake-data1'), 1);
    expect(stateOf('fake-data1')).toBe('CRASHED');
    await vi.advanceTimersByTimeAsync(1000);
    expect(session?.degraded).toBe(true);
    expect(host.ops.opCodes()['manager']).toBe(8);
    const texts = session!.messages.map((m) => m[1]);
    expect(texts).toContain('fake-data1: BACKOFF -> STARTING (backoff elapsed)');
    expect(texts.some((t) => t.startsWith('fake-data1: STARTING -> CRASHED'))).toBe(true);
    await run('reset', { ids: 'fake-data1' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(session?.degraded).toBe(false);
  });

  it('update: applies requests in order, notes unknown ids and invalid pairs, and starts an exited on-demand child on up', async () => {
    await run('manager', { reload_config: false });
    let r = await run('update', { requests: [['lazy', 'up'], ['nobody', 'up'], ['fake-data1', 'sideways'], ['fake-data1', 'down']] });
    expect(r.session?.success).toBe(true);
    const texts = r.session!.messages.map((m) => m[1]);
    expect(texts).toContain("Unknown instance_id 'nobody' (not managed by this HostManager)");
    expect(texts.some((t) => t.startsWith('Invalid request ["fake-data1","sideways"]'))).toBe(true);
    expect(stateOf('lazy')).toBe('STARTING');
    expect(stateOf('fake-data1')).toBe('STOPPED');
    host.beat('lazy', 'l1');
    control.exit(pidOf('lazy'), 0);
    expect(stateOf('lazy')).toBe('EXITED');
    r = await run('update', { requests: [['lazy', 'up']] });
    expect(stateOf('lazy')).toBe('STARTING');
    expect(r.session?.data['results']).toEqual([expect.objectContaining({ instance_id: 'lazy', ok: true, state: 'STARTING' })]);
  });

  it('refuses update and the verbs while the manager is not running; stopping the manager stops the children', async () => {
    let r = await run('update', { requests: [['all', 'up']] });
    expect(r.session?.success).toBe(false);
    expect(r.session?.messages.map((m) => m[1])).toContain(MANAGER_NOT_RUNNING);
    const { session } = await run('manager', { reload_config: false });
    host.ops.stopOp('stop', 'manager', null, null, true);
    for (let i = 0; i < 20 && session?.status !== 'done'; i++) await vi.advanceTimersByTimeAsync(50);
    expect(session?.success).toBe(true);
    expect(hm.supervisor).toBeNull();
    r = await run('start', { ids: 'fake-data2' });
    expect(r.session?.messages.map((m) => m[1])).toContain(MANAGER_NOT_RUNNING);
    expect(control.proc.pids()).toEqual([]);
  });

  it('refuses create without --allow-exec, with a message naming the flag', async () => {
    await run('manager', { reload_config: false });
    const r = await run('create', { id: 'job', cmd: ['/bin/true'] });
    expect(r.session?.success).toBe(false);
    expect(r.session?.messages.map((m) => m[1])).toContain(EXEC_DISABLED);
    expect(EXEC_DISABLED).toContain('--allow-exec');
    expect(hm.supervisor?.stateOf('job')).toBeNull();
    const history = readFileSync(join(dir, 'state', 'history-00.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(history.at(-1)).toMatchObject({ kind: 'request', verb: 'create', ok: false, message: EXEC_DISABLED, params: { id: 'job', cmd: ['/bin/true'] } });
  });
});

describe('HostManager: config reload', () => {
  it('keeps the running config on a YAML error and reports it; then retires removed entries and marks changed ones restart_required', async () => {
    const { session } = await run('manager', { reload_config: false });
    host.beat('fake-data1', 's1');
    writeFileSync(siteFile, 'hub: [unclosed\n');
    let r = await run('update', { reload_config: true });
    expect(r.session?.success).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    const status = (session!.data['config_parse_status'] as Record<string, [boolean, number, string]>)['[SCF]'];
    expect(status?.[0]).toBe(false);
    expect(status?.[2]).toContain('YAML syntax error');
    expect(hm.supervisor?.ids().sort()).toEqual(['fake-data1', 'fake-data2', 'lazy']);
    expect(stateOf('fake-data1')).toBe('RUNNING');

    const changed = BASE_INSTANCES.filter((i) => i['instance-id'] !== 'fake-data2').map((i) =>
      i['instance-id'] === 'fake-data1' ? { ...i, arguments: ['--mode', 'acq', '--num-channels', 8] } : i,
    );
    writeSite([...changed, { 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data3' }]);
    r = await run('update', { reload_config: true });
    expect(r.session?.messages.map((m) => m[1])).toContain('config reloaded: added fake-data3; retired fake-data2; restart required fake-data1; updated fake-data1');
    await vi.advanceTimersByTimeAsync(1000);
    expect(hm.supervisor?.ids().sort()).toEqual(['fake-data1', 'fake-data3', 'lazy']);
    const entry = (session!.data['child_states'] as Record<string, unknown>[]).find((c) => c['instance_id'] === 'fake-data1');
    expect(entry?.['restart_required']).toBe(true);
    expect((session!.data['config_parse_status'] as Record<string, [boolean]>)['[SCF]']?.[0]).toBe(true);
  });
});

describe('HostManager: feed, access levels, shutdown', () => {
  it('publishes child_states blocks with integer state codes and restarts', async () => {
    host.publications.length = 0;
    host.beat('fake-data1', 's1');
    await vi.advanceTimersByTimeAsync(200);
    const last = host.publications.filter((p) => p.topic === `${ROOT}.${HM}.feeds.child_states`).at(-1);
    expect(last?.feed).toMatchObject({ feed_name: 'child_states', record: true });
    const blocks = last?.message as Record<string, { data: Record<string, unknown[]> }>;
    expect(blocks['fake_data1']?.data).toEqual({ fake_data1_state_code: [4], fake_data1_restarts: [0] });
    expect(blocks['fake_data2']?.data).toEqual({ fake_data2_state_code: [1], fake_data2_restarts: [0] });
  });

  it('asks for more than level 1 only under an access policy', async () => {
    const api = host.ops.management('get_api') as { tasks: [string, unknown, { min_privs: number }][] };
    expect(api.tasks.every(([, , info]) => info.min_privs === 1)).toBe(true);
    await hm.closeSupervisor('disown', 1000);
    hm.liveness.stop();
    hm = await makeHostManager({ accessPolicy: { policy: 'override', password2: 'a', password3: 'b' } });
    const strict = host.ops.management('get_api') as { tasks: [string, unknown, { min_privs: number }][]; processes: [string, unknown, { min_privs: number }][] };
    const privs = Object.fromEntries([...strict.tasks, ...strict.processes].map(([name, , info]) => [name, info.min_privs]));
    expect(privs).toEqual(OP_PRIVS);
  });

  it('shutdown stops the manager and every child, then leaves', async () => {
    const { session } = await run('manager', { reload_config: false });
    host.beat('fake-data1', 's1');
    const done = hm.shutdown('test');
    await vi.advanceTimersByTimeAsync(500);
    await done;
    expect(session?.status).toBe('done');
    expect(control.signals).toContainEqual([expect.any(Number), 'SIGINT']);
    expect(control.proc.pids()).toEqual([]);
    expect(host.shutdownReasons).toEqual(['test']);
  });

  it('die(disown=True) leaves the children running, then exits', async () => {
    await run('manager', { reload_config: false });
    host.beat('fake-data1', 's1');
    const pid = pidOf('fake-data1');
    const r = await run('die', { disown: true });
    expect(r.session?.success).toBe(true);
    await vi.advanceTimersByTimeAsync(600);
    expect(control.proc.pids()).toEqual([pid]);
    expect(host.shutdownReasons).toEqual(['die']);
  });
});
