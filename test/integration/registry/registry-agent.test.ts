import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../../lib/registry/agent-record.js';
import type { AgentStatusEvent } from '../../../lib/registry/agent-status-event.js';
import { RegistryWatcher } from '../../../lib/registry/registry-watcher.js';
import type { AutobahnSession } from '../../../lib/wamp/autobahn.js';
import { spawnOcs, startAgent, type AgentProcess } from '../../helpers/agent-process.js';
import { openTestSession, registerCleanup, startTestRouter, type TestRouter } from '../../helpers/router.js';
import { writeSiteFile, type SiteInstance, type TestSite } from '../../helpers/site-file.js';
import { waitFor } from '../../helpers/wait.js';
import { startHeartbeatPeer } from './python-peer.js';

/** Expiry, recovery and restarts take the real 5 s timeout plus process start-up on a busy machine. */
const EVENT_TIMEOUT_MS = 25_000;
const FAKE_OPS = ['acq', 'count', 'set_heartbeat', 'delay_task'];

let router: TestRouter;

beforeAll(async () => {
  router = await startTestRouter();
});

function fakeData(instanceId: string): SiteInstance {
  return { 'agent-class': 'FakeDataAgent', 'instance-id': instanceId, arguments: ['--mode', 'acq'] };
}

function registryInstance(args: unknown[] = []): SiteInstance {
  return { 'agent-class': 'RegistryAgent', 'instance-id': 'registry', arguments: ['--wait-time', 2, ...args] };
}

function siteWith(instances: SiteInstance[]): TestSite {
  return writeSiteFile({ url: router.url, httpUrl: router.httpUrl, hosts: { localhost: { 'agent-instances': instances } } });
}

/** Follows the registry's table and change events through lib/registry's watcher. */
async function watchRegistry(session: AutobahnSession, registryAddress: string) {
  const watcher = RegistryWatcher.fromSession(session, { registryAddress });
  const events: AgentStatusEvent[] = [];
  watcher.on('change', (event) => events.push(event));
  await watcher.start();
  registerCleanup(() => watcher.stop());
  return {
    watcher,
    events,
    waitForEvent(name: AgentStatusEvent['event'], address: string, what = `${name} of ${address}`, after = 0): Promise<AgentStatusEvent> {
      return waitFor(() => events.slice(after).find((e) => e.event === name && e.agent_address === address), { timeoutMs: EVENT_TIMEOUT_MS, what });
    },
    waitForRecord(address: string, check: (r: AgentRecord) => boolean, what: string): Promise<AgentRecord> {
      return waitFor(
        () => {
          const r = watcher.get(address);
          return r !== undefined && check(r) ? r : undefined;
        },
        { timeoutMs: EVENT_TIMEOUT_MS, what },
      );
    },
  };
}

async function mainSessionData(session: AutobahnSession, registryAddress: string): Promise<Record<string, AgentRecord>> {
  const reply = (await session.call(`${registryAddress}.ops`, ['status', 'main'])) as [number, string, { data: Record<string, AgentRecord> }];
  expect(reply[0]).toBe(0);
  return reply[2].data;
}

function opCodes(record: AgentRecord | undefined): number[] {
  return FAKE_OPS.map((op) => record?.op_codes[op] ?? -1);
}

describe('RegistryAgent (ocs agent processes)', () => {
  it('tracks three FakeDataAgents; a SIGKILLed one is expired with every op code 7 after 5 s, then seen restarted', async () => {
    const site = siteWith([registryInstance(), fakeData('fake-data1'), fakeData('fake-data2'), fakeData('fake-data3')]);
    const registryAddress = `${site.addressRoot}.registry`;
    await startAgent(site.file, 'registry');
    const session = await openTestSession(router);
    const registry = await watchRegistry(session, registryAddress);
    const agents = await Promise.all(['fake-data1', 'fake-data2', 'fake-data3'].map((id) => startAgent(site.file, id)));
    const addresses = ['fake-data1', 'fake-data2', 'fake-data3'].map((id) => `${site.addressRoot}.${id}`);
    for (const address of addresses) {
      const record = await registry.waitForRecord(address, (r) => r.op_codes['acq'] === 3, `${address} acquiring`);
      expect(record).toMatchObject({ expired: false, time_expired: null, agent_class: 'FakeDataAgent', agent_address: address });
    }
    const data = await mainSessionData(session, registryAddress);
    expect(Object.keys(data).sort()).toEqual(addresses);

    const [victim, victimAddress] = [agents[0]!, addresses[0]!];
    victim.kill('SIGKILL');
    const expired = await registry.waitForEvent('agent.expired', victimAddress);
    expect(expired.record.expired).toBe(true);
    expect(opCodes(expired.record)).toEqual([7, 7, 7, 7]);
    // expired at the deadline, not before: 5 s after the last heartbeat (times are float seconds)
    expect(expired.record.time_expired! - expired.record.last_updated).toBeGreaterThanOrEqual(5 - 0.002);
    expect((await mainSessionData(session, registryAddress))[victimAddress]).toMatchObject({ expired: true, op_codes: { acq: 7, count: 7, set_heartbeat: 7, delay_task: 7 } });
    expect(registry.events.filter((e) => e.event === 'agent.expired').map((e) => e.agent_address)).toEqual([victimAddress]);

    await startAgent(site.file, 'fake-data1');
    const restarted = await registry.waitForEvent('agent.restarted', victimAddress);
    if (restarted.event !== 'agent.restarted') throw new Error('unreachable');
    expect(restarted.was_expired).toBe(true);
    expect(restarted.session_id).not.toBe(restarted.session_id_before);
    await registry.waitForRecord(victimAddress, (r) => !r.expired && r.op_codes['acq'] === 3, 'restarted agent acquiring');
  });

  it('marks a SIGSTOPped agent expired, and recovered after SIGCONT', async () => {
    const site = siteWith([registryInstance(), fakeData('fake-data1')]);
    const registryAddress = `${site.addressRoot}.registry`;
    const address = `${site.addressRoot}.fake-data1`;
    await startAgent(site.file, 'registry');
    const session = await openTestSession(router);
    const registry = await watchRegistry(session, registryAddress);
    const agent = await startAgent(site.file, 'fake-data1');
    await registry.waitForRecord(address, (r) => r.op_codes['acq'] === 3, 'agent acquiring');

    agent.kill('SIGSTOP');
    registerCleanup(() => agent.kill('SIGCONT'));
    const expired = await registry.waitForEvent('agent.expired', address);
    expect(opCodes(expired.record)).toEqual([7, 7, 7, 7]);
    agent.kill('SIGCONT');
    const recovered = await registry.waitForEvent('agent.recovered', address);
    if (recovered.event !== 'agent.recovered') throw new Error('unreachable');
    expect(recovered.session_id).toBe(expired.session_id);
    expect(recovered.time_expired_before).toBe(expired.record.time_expired);
    expect(recovered.record.expired).toBe(false);
    expect(recovered.record.op_codes['acq']).toBe(3);
  });

  it("tracks a Python agent's heartbeats (python3-autobahn) the same way, legacy 0 included, and serves Python clients OCS types", async () => {
    const site = siteWith([registryInstance()]);
    const registryAddress = `${site.addressRoot}.registry`;
    const address = `${site.addressRoot}.py-agent`;
    const legacyAddress = `${site.addressRoot}.py-legacy`;
    await startAgent(site.file, 'registry');
    const session = await openTestSession(router);
    const registry = await watchRegistry(session, registryAddress);

    const peer = startHeartbeatPeer('beat', router.url, address, { opCodes: '{"acq": 3, "count": 1}', beats: 3, sessionId: '1700000000.25' });
    const legacy = startHeartbeatPeer('beat', router.url, legacyAddress, { opCodes: '0', beats: 2 });
    const appeared = await registry.waitForEvent('agent.appeared', address);
    expect(appeared.record).toMatchObject({ expired: false, op_codes: { acq: 3, count: 1 }, agent_class: 'PythonFakeAgent', agent_address: address });
    expect(appeared.session_id).toBe('1700000000.25');
    expect((await registry.waitForEvent('agent.appeared', legacyAddress)).record.op_codes).toEqual({});

    const types = await startHeartbeatPeer('registry-types', router.url, registryAddress).finish();
    expect(types.failure).toBeUndefined();
    const operations = types.observations.find((o) => o['step'] === 'operations')!;
    expect(operations['value_types']).toEqual(['int']);
    expect(operations['timestamp_types']).toEqual(['float']);
    expect(operations['record']).toBe(true);
    expect(operations['agg_params']).toEqual({ frame_length: 60 });

    expect((await peer.finish()).failure).toBeUndefined();
    expect((await legacy.finish()).failure).toBeUndefined();
    const expired = await registry.waitForEvent('agent.expired', address);
    expect(expired.record.op_codes).toEqual({ acq: 7, count: 7 });
  });

  it('keeps serving through a flood of junk heartbeats, warning at a limited rate', async () => {
    const site = siteWith([registryInstance()]);
    const registryAddress = `${site.addressRoot}.registry`;
    const registryProcess = await startAgent(site.file, 'registry');
    const session = await openTestSession(router);
    const registry = await watchRegistry(session, registryAddress);

    const junk = await startHeartbeatPeer('junk', router.url, `${site.addressRoot}.junk`, { repeat: 40 }).finish();
    expect(junk.failure).toBeUndefined();
    const sent = junk.observations.find((o) => o['step'] === 'junk')!['sent'] as number;

    const good = `${site.addressRoot}.good`;
    expect((await startHeartbeatPeer('beat', router.url, good, { beats: 1 }).finish()).failure).toBeUndefined();
    await registry.waitForEvent('agent.appeared', good);
    expect(registryProcess.child.exitCode).toBeNull();
    const data = await mainSessionData(session, registryAddress);
    expect(Object.keys(data)).toEqual([good]);
    const warnings = registryProcess.records.filter((r) => r['msg'] === 'heartbeat dropped');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThan(sent / 10);
  });

  it('rebuilds its table from heartbeats after a restart, and keeps expired agents with --state-file', async () => {
    const site = siteWith([registryInstance(), fakeData('fake-data1'), fakeData('fake-data2')]);
    const stateArgs = ['--state-file', join(site.dir, 'registry-state.json')];
    const registryAddress = `${site.addressRoot}.registry`;
    const [live, gone] = [`${site.addressRoot}.fake-data1`, `${site.addressRoot}.fake-data2`];
    let registryProcess: AgentProcess = await startAgent(site.file, 'registry', stateArgs);
    const session = await openTestSession(router);
    let registry = await watchRegistry(session, registryAddress);
    await startAgent(site.file, 'fake-data1');
    const goneAgent = await startAgent(site.file, 'fake-data2');
    await registry.waitForRecord(gone, (r) => r.op_codes['acq'] === 3, 'fake-data2 acquiring');
    goneAgent.kill('SIGKILL');
    await registry.waitForEvent('agent.expired', gone);

    // a restart with the state file: the expired agent stays listed, the live one is live
    registryProcess.kill('SIGTERM');
    expect(await registryProcess.exited).toBe(0);
    await registry.watcher.stop();
    registryProcess = await startAgent(site.file, 'registry', stateArgs);
    registry = await watchRegistry(session, registryAddress);
    expect(registry.watcher.get(gone)).toMatchObject({ expired: true, op_codes: { acq: 7 } });
    const restartedAtS = Date.now() / 1000;
    // the watcher's table moves with change events; a beat of a known agent is no change: ask main
    await waitFor(
      async () => {
        const record = (await mainSessionData(session, registryAddress))[live];
        return record !== undefined && !record.expired && record.last_updated >= restartedAtS;
      },
      { timeoutMs: EVENT_TIMEOUT_MS, intervalMs: 200, what: 'live agent beating to the new registry' },
    );

    // a restart without it: the live agent is back from its heartbeats, the dead one is unknown
    registryProcess.kill('SIGTERM');
    expect(await registryProcess.exited).toBe(0);
    await registry.watcher.stop();
    await startAgent(site.file, 'registry');
    registry = await watchRegistry(session, registryAddress);
    // the registry hears the live agent from its join on: the beat that makes it appear may come
    // before the watcher subscribed (the record is then in the table it read), or after (an event)
    await registry.waitForRecord(live, (r) => !r.expired && r.op_codes['acq'] === 3, 'live agent heard by the new registry');
    expect(Object.keys(await mainSessionData(session, registryAddress))).toEqual([live]);
  });

  it('is what ocs client scan --use-registry lists, and --watch prints each change', async () => {
    const site = siteWith([registryInstance(), fakeData('fake-data1')]);
    const registryAddress = `${site.addressRoot}.registry`;
    await startAgent(site.file, 'registry');
    const session = await openTestSession(router);
    const registry = await watchRegistry(session, registryAddress);
    await startAgent(site.file, 'fake-data1');
    await registry.waitForRecord(`${site.addressRoot}.fake-data1`, (r) => r.op_codes['acq'] === 3, 'agent acquiring');

    const scan = spawnOcs(['client', 'scan', '--site-file', site.file, '--use-registry', '--json']);
    expect(await scan.exited).toBe(0);
    expect(scan.records).toEqual([
      {
        instance_id: 'fake-data1',
        agent_address: `${site.addressRoot}.fake-data1`,
        agent_class: 'FakeDataAgent',
        expired: false,
        op_codes: { acq: 3, count: 3, set_heartbeat: 1, delay_task: 1 },
      },
    ]);

    // ended by the SIGINT below; the duration only bounds a leftover, past every wait of this test
    const watch = spawnOcs(['client', 'scan', '--site-file', site.file, '--use-registry', 'registry', '--watch', '--json', '--duration', '120']);
    await waitFor(() => watch.records.some((r) => r['instance_id'] === 'fake-data1'), { timeoutMs: EVENT_TIMEOUT_MS, what: 'watch lists the table' });
    const newcomer = `${site.addressRoot}.py-agent`;
    const peer = startHeartbeatPeer('beat', router.url, newcomer, { beats: 1 });
    const line = await waitFor(() => watch.records.find((r) => r['event'] === 'agent.appeared' && r['agent_address'] === newcomer), {
      timeoutMs: EVENT_TIMEOUT_MS,
      what: 'watch prints the new agent',
    });
    expect(line['record']).toMatchObject({ agent_address: newcomer, op_codes: { acq: 3, count: 1 } });
    expect((await peer.finish()).failure).toBeUndefined();
    watch.kill('SIGINT');
    expect(await watch.exited).toBe(0);
  });

  it('answers main and register_agent as OCS does', async () => {
    const site = siteWith([registryInstance()]);
    const registryAddress = `${site.addressRoot}.registry`;
    await startAgent(site.file, 'registry');
    const session = await openTestSession(router);
    const call = (action: string, op: string, params?: Record<string, unknown>) =>
      session.call(`${registryAddress}.ops`, params ? [action, op, params] : [action, op]) as Promise<[number, string, Record<string, unknown>]>;
    const api = (await session.call(registryAddress, ['get_api'])) as { agent_class: string; processes: Array<[string]>; tasks: Array<[string]>; feeds: Array<[string]> };
    expect(api.agent_class).toBe('RegistryAgent');
    expect(api.processes.map((p) => p[0])).toEqual(['main']);
    expect(api.tasks.map((t) => t[0])).toEqual(['register_agent']);
    expect(api.feeds.map((f) => f[0]).sort()).toEqual(['agent_operations', 'agent_status', 'heartbeat']);
    expect((await call('start', 'register_agent'))[0]).toBe(0);
    const task = await call('wait', 'register_agent');
    expect(task[2]['success']).toBe(true);
    expect((task[2]['messages'] as Array<[number, string]>).map((m) => m[1])).toContain("'register_agent' is deprecated");
    expect((await call('stop', 'main'))[0]).toBe(0);
    const stopped = await call('wait', 'main');
    expect(stopped[2]['status']).toBe('done');
    expect((stopped[2]['messages'] as Array<[number, string]>).map((m) => m[1])).toContain('Stopped registry main process');
    expect((await call('start', 'main', { test_mode: true }))[0]).toBe(0);
    const once = await call('wait', 'main');
    expect(once[2]['success']).toBe(true);
  });
});
