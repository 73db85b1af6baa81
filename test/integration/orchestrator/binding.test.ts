/**
 * The orchestrator wired into the HostManager (agents/host-manager/orchestrator-binding.ts), on
 * fakes: a real supervisor on an in-memory process table, an agent host that records
 * publications and answers the Registry's `status main`, and a fake clock. Host h1 runs the
 * HostManager under test; its peer h2 is expired in the Registry, so h1 decides alone.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { HostManager } from '../../../agents/host-manager/agent.js';
import { HostManagerArgsSchema } from '../../../agents/host-manager/config.js';
import { ORCHESTRATOR_NOT_RUNNING } from '../../../agents/host-manager/orchestrator-tasks.js';
import type { OpSession } from '../../../lib/ops/op-session.js';
import { loadSiteConfig } from '../../../lib/site-config/load.js';
import type { AccessPolicy } from '../../../lib/site-config/access-policy.js';
import { FakeControl, FakeHost } from '../../fixtures/host-manager-fakes.js';

const ROOT = 'obs';
const HM = 'hm-h1';
const SVC = 'svc';
const T0_MS = Date.UTC(2024, 0, 1);

let dir: string;
let siteFile: string;
let control: FakeControl;
let host: FakeHost;
let hm: HostManager;

function writeSite(): void {
  const doc = {
    hub: { wamp_server: 'ws://127.0.0.1:1/ws', wamp_realm: 'test_realm', address_root: ROOT },
    hosts: {
      h1: { 'agent-instances': [{ 'agent-class': 'HostManager', 'instance-id': HM, manage: 'ignore' }] },
      h2: { 'agent-instances': [{ 'agent-class': 'HostManager', 'instance-id': 'hm-h2', manage: 'ignore' }] },
    },
    services: { [SVC]: { 'agent-class': 'FakeDataAgent', hosts: ['h1', 'h2'], arguments: ['--mode', 'acq'], supervise: { 'max-failures': 1 } } },
  };
  writeFileSync(siteFile, stringify(doc));
}

/** The Registry's `main` session: h1's HostManager managing, h2's expired; started long ago. */
function registryReply(): unknown {
  const nowS = Date.now() / 1000;
  const record = (id: string, expired: boolean) => ({
    expired,
    time_expired: expired ? nowS - 60 : null,
    last_updated: expired ? nowS - 65 : nowS,
    op_codes: { manager: 3, orchestrator: 3 },
    agent_class: 'HostManager',
    agent_address: `${ROOT}.${id}`,
  });
  return [0, 'ok', { status: 'running', start_time: nowS - 600, data: { [`${ROOT}.${HM}`]: record(HM, false), [`${ROOT}.hm-h2`]: record('hm-h2', true) } }];
}

async function makeHostManager(accessPolicy: AccessPolicy = { policy: 'none' }): Promise<HostManager> {
  host = new FakeHost(ROOT, HM);
  host.onCall = (procedure) => (procedure === `${ROOT}.registry.ops` ? Promise.resolve(registryReply()) : Promise.reject(new Error(`no callee for ${procedure}`)));
  const made = new HostManager(host, {
    args: HostManagerArgsSchema.parse({ state_dir: 'state' }),
    instanceId: HM,
    addressRoot: ROOT,
    siteFile,
    site: loadSiteConfig(siteFile),
    hostKey: 'h1',
    workingDir: dir,
    logDir: null,
    accessPolicy,
    launcher: ['/usr/bin/node', '/opt/ocs/bin/ocs.js'],
    baseEnv: { PATH: '/usr/bin' },
    knownClasses: new Set(['FakeDataAgent', 'HostManager']),
    processControl: control,
    supervisorOptions: { pid: 1, random: () => 0.5 },
  });
  await made.open();
  return made;
}

/** Starts an op; a task is run to its end, a process until it runs. */
async function run(op: string, params: Record<string, unknown> = {}): Promise<OpSession> {
  const [code, message] = host.ops.start(op, params, null, true);
  if (code !== 0) throw new Error(`${op}: ${message}`);
  const session = host.ops.session(op)!;
  const isProcess = host.ops.opType(op) === 'process';
  for (let i = 0; i < 50 && session.status !== 'done' && !(isProcess && session.status === 'running'); i++) await vi.advanceTimersByTimeAsync(1);
  return session;
}

const stateOf = (id: string) => hm.supervisor?.stateOf(id) ?? null;
const pidOf = (id: string) => hm.supervisor?.get(id)?.current.pid ?? -1;
const messagesOf = (session: OpSession) => session.messages.map((m) => m[1]);

interface View {
  services: Record<string, { local: Record<string, { monitor: string; state: string | null; epoch: number }>; blocked: string[] }>;
  actions: { type: string; instance_id: string; reason: string; ok: boolean }[];
}
const viewOf = () => host.ops.session('orchestrator')!.data as unknown as View;
const localOf = () => viewOf().services[SVC]!.local[SVC]!;
const placements = () => host.publications.filter((p) => p.topic === `${ROOT}.${HM}.feeds.placement`).map((p) => p.message as Record<string, unknown>);

/** Runs the clock until the instance is STARTING, then lets its first heartbeat arrive. */
async function untilRunning(timeoutMs = 20_000): Promise<void> {
  for (let t = 0; t < timeoutMs && stateOf(SVC) !== 'STARTING' && stateOf(SVC) !== 'RUNNING'; t += 250) await vi.advanceTimersByTimeAsync(250);
  expect(stateOf(SVC)).toMatch(/STARTING|RUNNING/);
  host.beat(SVC, `run-${control.spawns.length}`);
  await vi.advanceTimersByTimeAsync(500);
  expect(stateOf(SVC)).toBe('RUNNING');
}

async function close(mode: 'stop' | 'disown'): Promise<void> {
  const closing = hm.closeSupervisor(mode, 1000);
  await vi.advanceTimersByTimeAsync(2000);
  await closing;
}

beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(T0_MS);
  dir = mkdtempSync(join(tmpdir(), 'orch-binding-'));
  siteFile = join(dir, 'site.yaml');
  writeSite();
  control = new FakeControl();
  hm = await makeHostManager();
  await run('manager', { reload_config: false });
});

afterEach(async () => {
  host.ops.stopOp('stop', 'orchestrator', null, null, true);
  await close('disown');
  hm.liveness.stop();
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('HostManager orchestrator binding', () => {
  it('adds the service instance as an entry that never starts by itself, refuses its tasks until the process runs', async () => {
    expect(stateOf(SVC)).toBe('STOPPED');
    expect(control.spawns).toHaveLength(0);
    const rec = hm.supervisor?.get(SVC);
    expect(rec?.spec.restart.mode).toBe('never');
    expect(rec?.spec.cmd).toEqual(['/usr/bin/node', '/opt/ocs/bin/ocs.js', 'agent', '--site-file', siteFile, '--site-host', 'h1', '--instance-id', SVC, '--working-dir', dir]);
    const refused = await run('set_expect', { service: SVC, global_expect: 'stopped' });
    expect(refused.success).toBe(false);
    expect(messagesOf(refused)).toContain(ORCHESTRATOR_NOT_RUNNING);
  });

  it('places the instance here, publishes the placement feed and shows the cluster view and its actions', async () => {
    const session = await run('orchestrator');
    expect(session.status).toBe('running');
    expect(host.subscriptions.has(`${ROOT}..feeds.placement`)).toBe(true);
    await untilRunning();
    expect(control.spawns).toHaveLength(1);
    expect(localOf()).toMatchObject({ monitor: 'idle', state: 'RUNNING', epoch: 1 });
    expect(viewOf().actions).toEqual([expect.objectContaining({ type: 'start', instance_id: SVC, reason: 'placed here', ok: true })]);
    await vi.advanceTimersByTimeAsync(2500);
    expect(placements().at(-1)).toMatchObject({ node: 'h1', leaving: false, services: { [SVC]: { state: 'RUNNING', monitor: 'idle', epoch: 1 } } });
    const snapshot = JSON.parse(readFileSync(join(dir, 'state', 'orchestrator-00.json'), 'utf8')) as Record<string, unknown>;
    expect(snapshot).toMatchObject({ node: 'h1', epochs: { [SVC]: 1 }, claims: { [SVC]: { epoch: 1 } } });
    expect((await run('set_expect', { service: 'nope', global_expect: 'started' })).success).toBe(false);
    expect((await run('freeze', { scope: ['nope'] })).success).toBe(false);
  });

  it('rolls its instance out: a restart by the supervisor, RUNNING again on the new run\'s heartbeat, then the report', async () => {
    await run('orchestrator');
    await untilRunning();
    const [code, message] = host.ops.start('rollout', { service: SVC }, null, true);
    expect([code, message]).toEqual([0, expect.any(String)]);
    const session = host.ops.session('rollout')!;
    for (let t = 0; t < 5000 && stateOf(SVC) !== 'STARTING'; t += 50) await vi.advanceTimersByTimeAsync(50);
    expect(control.spawns).toHaveLength(2);
    expect(session.status).toBe('running');
    host.beat(SVC, `run-${control.spawns.length}`);
    for (let t = 0; t < 5000 && session.status !== 'done'; t += 100) await vi.advanceTimersByTimeAsync(100);
    expect(session.success).toBe(true);
    expect(session.data).toMatchObject({ status: 'done', instances: 1, min_ready_allowed: 0, detail: [{ instance_id: SVC, host: 'h1', result: 'restarted' }] });
    expect(viewOf().actions.at(-1)).toMatchObject({ type: 'restart', instance_id: SVC, ok: true });
    expect((viewOf() as unknown as { rollouts: Record<string, { status: string }> }).rollouts[SVC]?.status).toBe('done');
    expect(control.spawns).toHaveLength(2);
  });

  it('asks level 2 for the orchestrator tasks, rollout included, under an access policy', async () => {
    host.ops.stopOp('stop', 'orchestrator', null, null, true);
    await close('disown');
    hm.liveness.stop();
    hm = await makeHostManager({ policy: 'override', password2: 'two', password3: 'three' });
    const api = host.ops.management('get_api') as { tasks: [string, unknown, { min_privs: number }][] };
    const privs = Object.fromEntries(api.tasks.map(([name, , info]) => [name, info.min_privs]));
    expect(privs).toMatchObject({ rollout: 2, relocate: 2, set_expect: 2, freeze: 2, thaw: 2, clear: 2 });
    // a caller at level 1 is refused before the task runs, and nothing restarts
    const before = control.spawns.length;
    const [code, message] = host.ops.start('rollout', { service: SVC }, null, false);
    expect(code).not.toBe(0);
    expect(message).toContain('requires credential level 2');
    await vi.advanceTimersByTimeAsync(2000);
    expect(control.spawns.length).toBe(before);
    expect(control.signals).toEqual([]);
  });

  it('an operator stop keeps the instance down here; an operator start brings it back with a new epoch', async () => {
    await run('orchestrator');
    await untilRunning();
    const stopped = await run('stop', { ids: SVC });
    expect(stopped.success).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(stateOf(SVC)).toBe('STOPPED');
    expect(localOf().monitor).toBe('local_stopped');
    await vi.advanceTimersByTimeAsync(15_000);
    expect(control.spawns).toHaveLength(1);
    await run('start', { ids: SVC });
    await untilRunning();
    expect(control.spawns).toHaveLength(2);
    expect(localOf()).toMatchObject({ monitor: 'idle', epoch: 2 });
  });

  it('places the instance again after an exit, gives it up when its failure budget is spent, and starts it again after clear', async () => {
    await run('orchestrator');
    await untilRunning();
    control.exit(pidOf(SVC), 1);
    expect(stateOf(SVC)).toBe('EXITED');
    await untilRunning();
    expect(control.spawns).toHaveLength(2);
    control.exit(pidOf(SVC), 1);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(control.spawns).toHaveLength(2);
    expect(localOf().monitor).toBe('start_failed');
    expect(viewOf().services[SVC]!.blocked).toEqual(['h1']);
    const cleared = await run('clear', { service: SVC });
    expect(cleared.success).toBe(true);
    await untilRunning();
    expect(control.spawns).toHaveLength(3);
    expect(hm.supervisor?.get(SVC)?.current.failTimesMs).toEqual([]);
  });

  it('stops the instance before an orderly stop of the supervisor, so the next HostManager starts nothing by itself', async () => {
    await run('orchestrator');
    await untilRunning();
    await close('stop');
    expect(placements().at(-1)).toMatchObject({ leaving: true });
    const history = readFileSync(join(dir, 'state', 'history-00.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const stopAt = history.findIndex((r) => r['kind'] === 'request' && r['verb'] === 'stop');
    const dieAt = history.findIndex((r) => r['kind'] === 'request' && r['verb'] === 'die');
    expect(stopAt).toBeGreaterThanOrEqual(0);
    expect(stopAt).toBeLessThan(dieAt);
    host.ops.stopOp('stop', 'orchestrator', null, null, true);
    await vi.advanceTimersByTimeAsync(1000);
    hm.liveness.stop();

    hm = await makeHostManager();
    expect(stateOf(SVC)).toBe('STOPPED');
    expect(hm.supervisor?.get(SVC)?.desired.target).toBe('down');
    expect(control.spawns).toHaveLength(1);
  });

  it('does not start an instance that vanished with its HostManager when the next one opens', async () => {
    await run('orchestrator');
    await untilRunning();
    // The HostManager goes away leaving its instance running (disown), then the process dies too:
    // the next HostManager on the same state finds it gone.
    await close('disown');
    expect(placements().at(-1)).toMatchObject({ maintenance_until: expect.any(Number) });
    host.ops.stopOp('stop', 'orchestrator', null, null, true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(hm.supervisor).toBeNull();
    hm.liveness.stop();
    control = new FakeControl();
    hm = await makeHostManager();
    expect(stateOf(SVC)).toBe('EXITED');
    expect(control.spawns).toHaveLength(0);
  });
});
