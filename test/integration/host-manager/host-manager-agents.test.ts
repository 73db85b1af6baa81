import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { OcsClient } from '../../../lib/client/ocs-client.js';
import { OpCode } from '../../../lib/ops/op-codes.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';
import { assertBuilt, isAlive, pidsWithEnv, procState } from '../supervisor/process-fixtures.js';
import { AGENT_TIMEOUT_MS, connect, fakeData, managerData, messagesOf, startHostManager, stateIn, task, waitData, writeHmSite, writeSite } from './hm-fixtures.js';

let router: TestRouter;

beforeAll(async () => {
  assertBuilt();
  router = await startTestRouter();
});

const allRunning = (ids: string[]) => (d: Awaited<ReturnType<typeof managerData>>) => ids.every((id) => stateIn(d, id) === 'RUNNING');

describe('HostManager agent: site-file children (real processes)', () => {
  it('brings up host/up agents on their first heartbeat without a registry; update moves targets; on-demand agents are not restarted', async () => {
    const site = writeHmSite(router, [fakeData('fake-data1'), fakeData('fake-data2', { manage: 'host/down' }), fakeData('lazy', { manage: 'on-demand' })]);
    await startHostManager(site);
    const client = await connect(site);
    expect(client.agentClass).toBe('HostManager');
    let d = await waitData(client, allRunning(['fake-data1']), 'fake-data1 running');
    expect(d.registry.liveness).toBe('local');
    expect(d.child_states.find((c) => c.instance_id === 'fake-data1')).toMatchObject({ agent_class: 'FakeDataAgent', next_action: 'up', target_state: 'up', operable: true });
    expect(stateIn(d, 'fake-data2')).toBe('STOPPED');
    expect(stateIn(d, 'lazy')).toBe('STOPPED');
    expect(d.services['fake-data1']?.reason).toBe('ready: heartbeat');
    // The agent answers on the router: it was started with the same site file.
    const child = await OcsClient.connect('fake-data1', { url: router.url, realm: router.realm, addressRoot: site.addressRoot, transport: 'wamp' });
    expect(child.agentClass).toBe('FakeDataAgent');
    await child.close();

    const up = await task(client, 'update', { requests: [['fake-data2', 'up'], ['lazy', 'up']] });
    expect(up.session).toMatchObject({ success: true });
    d = await waitData(client, allRunning(['fake-data1', 'fake-data2', 'lazy']), 'all three running');
    const lazyPid = d.services['lazy']!.pid!;
    process.kill(lazyPid, 'SIGKILL');
    d = await waitData(client, (x) => stateIn(x, 'lazy') === 'EXITED', 'lazy exited');
    expect(d.services['lazy']).toMatchObject({ attempt: 1, pid: null, last_exit: { exit: 'SIGKILL', classification: 'failure' } });
    expect(d.services['lazy']?.last_exit?.message).toContain('mode never');

    const down = await task(client, 'update', { requests: [['all', 'down']] });
    expect(down.session).toMatchObject({ success: true });
    await waitData(client, (x) => x.child_states.every((c) => c.state === 'STOPPED' || c.state === 'EXITED'), 'all down');
    expect(pidsWithEnv(site.stateDir)).toEqual([]);

    const refused = await task(client, 'create', { id: 'job', cmd: ['/bin/sleep', '100'] });
    expect(refused.session).toMatchObject({ success: false });
    expect(messagesOf(refused)).toContain('create refused: this HostManager was started without --allow-exec, so it does not run arbitrary commands');
  });

  it('suspends and resumes an agent child (SIGSTOP/SIGCONT to its group)', async () => {
    const site = writeHmSite(router, [fakeData('fake-data1')]);
    await startHostManager(site);
    const client = await connect(site);
    const d = await waitData(client, allRunning(['fake-data1']), 'running');
    const pid = d.services['fake-data1']!.pid!;
    const suspended = await task(client, 'suspend', { ids: 'fake-data1' });
    expect(suspended.session).toMatchObject({ success: true, data: { results: [{ instance_id: 'fake-data1', ok: true, state: 'SUSPENDED', pid }] } });
    await waitFor(() => procState(pid) === 'T', { what: 'process stopped' });
    await waitData(client, (x) => stateIn(x, 'fake-data1') === 'SUSPENDED', 'suspended');
    const resumed = await task(client, 'resume', { ids: ['fake-data1'] });
    expect(resumed.session).toMatchObject({ success: true });
    await waitFor(() => procState(pid) !== 'T', { what: 'process continued' });
    const after = await waitData(client, allRunning(['fake-data1']), 'running again');
    expect(after.services['fake-data1']?.pid).toBe(pid);
  });

  it('keeps the running config when a reload hits a YAML error; SIGHUP then adds, retires and marks restart_required', async () => {
    const site = writeHmSite(router, [fakeData('fake-data1'), fakeData('fake-data2')]);
    const hm = await startHostManager(site);
    const client = await connect(site);
    let d = await waitData(client, allRunning(['fake-data1', 'fake-data2']), 'both running');
    const pid2 = d.services['fake-data2']!.pid!;

    writeFileSync(site.file, 'hub: {wamp_server: [unclosed\n');
    const reload = await task(client, 'update', { reload_config: true });
    expect(reload.session).toMatchObject({ success: true });
    d = await managerData(client);
    expect(d.config_parse_status['[SCF]']?.[0]).toBe(false);
    expect(d.config_parse_status['[SCF]']?.[2]).toContain('YAML syntax error');
    expect(d.child_states.map((c) => [c.instance_id, c.state]).sort()).toEqual([
      ['fake-data1', 'RUNNING'],
      ['fake-data2', 'RUNNING'],
    ]);

    const hmEntry = { 'agent-class': 'HostManager', 'instance-id': 'hm-test', manage: 'ignore', arguments: ['--state-dir', site.stateDir, '--poll-interval', 0.2] };
    writeSite(site.file, router, site.addressRoot, [hmEntry, fakeData('fake-data1', { arguments: ['--num-channels', 3] }), fakeData('fake-data3')]);
    hm.kill('SIGHUP');
    d = await waitData(client, (x) => stateIn(x, 'fake-data3') === 'RUNNING' && stateIn(x, 'fake-data2') === undefined, 'fake-data3 running, fake-data2 retired');
    expect(d.config_parse_status['[SCF]']?.[0]).toBe(true);
    expect(d.child_states.find((c) => c.instance_id === 'fake-data1')?.restart_required).toBe(true);
    await waitFor(() => !isAlive(pid2), { what: 'fake-data2 stopped' });
    const restarted = await task(client, 'restart', { ids: 'fake-data1' });
    expect(restarted.session).toMatchObject({ success: true });
    d = await waitData(client, (x) => x.services['fake-data1']?.attempt === 2 && stateIn(x, 'fake-data1') === 'RUNNING', 'fake-data1 restarted');
    expect(d.child_states.find((c) => c.instance_id === 'fake-data1')?.restart_required).toBe(false);
  });

  it('restarts an agent whose heartbeats expired in the registry while its process lives', async () => {
    const registry = { 'agent-class': 'RegistryAgent', 'instance-id': 'registry', arguments: ['--agent-timeout', 2] };
    const site = writeHmSite(router, [registry, fakeData('fake-data1')]);
    await startHostManager(site);
    const client = await connect(site);
    let d = await waitData(client, (x) => allRunning(['registry', 'fake-data1'])(x) && x.registry.liveness === 'registry', 'registry live');
    const pid = d.services['fake-data1']!.pid!;
    const registryClient = await OcsClient.connect('registry', { url: router.url, realm: router.realm, addressRoot: site.addressRoot, transport: 'wamp' });
    await waitFor(
      async () => {
        const reply = await registryClient.op('main').status();
        const table = 'data' in reply.session ? (reply.session.data as Record<string, { expired: boolean }>) : {};
        return table[`${site.addressRoot}.fake-data1`]?.expired === false;
      },
      { timeoutMs: AGENT_TIMEOUT_MS, what: 'the registry to list fake-data1' },
    );
    await registryClient.close();
    const agent = await OcsClient.connect('fake-data1', { url: router.url, realm: router.realm, addressRoot: site.addressRoot, transport: 'wamp' });
    const off = await agent.task('set_heartbeat').call({ heartbeat: false });
    expect(off.session).toMatchObject({ success: true });
    await agent.close();
    d = await waitData(client, (x) => x.services['fake-data1']?.attempt === 2 && stateIn(x, 'fake-data1') === 'RUNNING', 'hung agent replaced', AGENT_TIMEOUT_MS + 15_000);
    expect(d.services['fake-data1']?.pid).not.toBe(pid);
    expect(d.services['fake-data1']?.last_exit?.message).toContain('(hung)');
    expect(isAlive(pid)).toBe(false);
    const manager = await client.op('manager').status();
    expect(manager.session).toMatchObject({ op_code: OpCode.RUNNING });
    // About 20 s when all goes well (2 s to expire, 10 s hung, a restart): the waits above, not the
    // integration timeout, bound it on a loaded machine.
  }, 120_000);
});
