import { describe, expect, it } from 'vitest';
import { AgentRuntime } from '../../../lib/agent/agent-runtime.js';
import type { ProcessSpec } from '../../../lib/ops/op-spec.js';
import { jsonSerializer } from '../../../lib/wamp/serializers.js';
import { silentLogger } from '../../../lib/log.js';
import { startRouter } from '../../../lib/router/index.js';
import { startTestRouter, registerCleanup, openTestSession } from '../../helpers/router.js';
import { runOcsFlow } from '../../helpers/python-ocs.js';
import { spawnOcs } from '../../helpers/agent-process.js';
import { writeSiteFile } from '../../helpers/site-file.js';
import { waitFor } from '../../helpers/wait.js';

function makeRuntime(url: string, overrides: Partial<ConstructorParameters<typeof AgentRuntime>[0]> = {}): AgentRuntime {
  const runtime = new AgentRuntime({
    agentClass: 'TestAgent',
    instanceId: 'rt1',
    addressRoot: `t${Math.random().toString(36).slice(2, 8)}`,
    wampUrl: url,
    realm: 'test_realm',
    crossbarTimeoutS: 0,
    heartbeatIntervalMs: 100,
    serializers: [jsonSerializer],
    logger: silentLogger(),
    ...overrides,
  });
  registerCleanup(() => runtime.shutdown('test over'));
  return runtime;
}

/** A process that runs until stopped, started at join. */
const LOOP_PROCESS: ProcessSpec = {
  start: async (session) => {
    session.setStatus('running');
    while (!session.signal.aborted) await session.sleep(50);
    return [true, 'stopped'];
  },
  stop: async (session) => {
    session.setStatus('stopping');
  },
  startup: true,
};

function joined(runtime: AgentRuntime): Promise<boolean> {
  return new Promise((resolve) => runtime.once('joined', resolve));
}

describe('AgentRuntime', () => {
  it('sends JS numbers in recorded blocks as floats and bigints as ints, for a Python subscriber', async () => {
    const router = await startTestRouter();
    const runtime = makeRuntime(router.url);
    const feed = runtime.registerFeed('typed', { record: true });
    const isJoined = joined(runtime);
    void runtime.run({ shouldHandleSignals: false });
    await isJoined;
    let t = 1_700_000_000;
    const timer = setInterval(() => feed.publishMessage({ block_name: 'b', timestamp: t++, data: { x: 20, n: 5n, s: 'on', ok: true } }), 50);
    registerCleanup(() => clearInterval(timer));
    const run = await runOcsFlow('feed-floats', { url: router.url, httpUrl: router.httpUrl, address: runtime.address, feed: 'typed' });
    expect(run.failure).toBeUndefined();
    expect(run.step('feed')['field_types']).toEqual({ x: ['float'], n: ['int'], s: ['str'], ok: ['bool'] });
    expect(run.step('feed')['timestamp_types']).toEqual(['float']);
  });

  it('beats at join and then every interval with the op codes of every op', async () => {
    const router = await startTestRouter();
    const runtime = makeRuntime(router.url);
    runtime.registerTask('noop', { fn: async () => [true, 'ok'] });
    const observer = await openTestSession(router);
    const beats: Array<{ at: number; codes: unknown }> = [];
    await observer.subscribe(`${runtime.address}.feeds.heartbeat`, (args) => {
      beats.push({ at: Date.now(), codes: (args?.[0] as unknown[])[0] });
    });
    void runtime.run({ shouldHandleSignals: false });
    await waitFor(() => beats.length >= 4, { what: '4 heartbeats' });
    expect(beats[0]!.codes).toEqual({ noop: 1 });
  });

  it('re-registers after the router restarts while its operations keep running', async () => {
    let router = await startRouter({ port: 0 });
    const port = router.port;
    registerCleanup(() => router.close());
    const runtime = makeRuntime(router.url);
    runtime.registerProcess('loop', LOOP_PROCESS);
    const firstJoin = joined(runtime);
    void runtime.run({ shouldHandleSignals: false });
    expect(await firstJoin).toBe(true);
    await waitFor(() => runtime.ops.opCodes()['loop'] === 3, { what: 'loop running' });
    await router.close();
    await waitFor(() => !runtime.isJoined, { what: 'runtime noticed the router left' });
    expect(runtime.ops.opCodes()['loop']).toBe(3);
    const rejoin = joined(runtime);
    router = await startRouter({ port });
    expect(await rejoin).toBe(false);
    const caller = await openTestSession({ url: router.url, realm: 'test_realm' });
    const reply = (await caller.call(`${runtime.address}.ops`, ['status', 'loop'])) as [number, string, { session_id: number; status: string }];
    expect(reply[0]).toBe(0);
    expect(reply[2].session_id).toBe(0);
    expect(reply[2].status).toBe('running');
  });

  it('gives up after crossbarTimeoutS without a router, stopping its operations', async () => {
    const router = await startRouter({ port: 0 });
    const runtime = makeRuntime(router.url, { crossbarTimeoutS: 1 });
    runtime.registerProcess('loop', LOOP_PROCESS);
    const isJoined = joined(runtime);
    const exit = runtime.run({ shouldHandleSignals: false });
    await isJoined;
    await router.close();
    expect(await exit).toBe(1);
    expect(runtime.ops.opCodes()['loop']).toBe(5);
  });

  it('exits non-zero when another process holds the same instance-id', async () => {
    const router = await startTestRouter();
    const addressRoot = `t${Math.random().toString(36).slice(2, 8)}`;
    const first = makeRuntime(router.url, { addressRoot });
    const isJoined = joined(first);
    void first.run({ shouldHandleSignals: false });
    await isJoined;
    const second = makeRuntime(router.url, { addressRoot });
    expect(await second.run({ shouldHandleSignals: false })).toBe(1);
    expect(first.isJoined).toBe(true);
  });
});

describe('ocs agent', () => {
  it('stops its operations on SIGTERM, leaves and exits 0', async () => {
    const router = await startTestRouter();
    const site = writeSiteFile({
      url: router.url,
      httpUrl: router.httpUrl,
      hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'fd', arguments: ['--mode', 'acq'] }] } },
    });
    const agent = spawnOcs(['agent', '--site-file', site.file, '--instance-id', 'fd']);
    await agent.waitForLog('joined and registered');
    await agent.waitForLog('starting acquisition');
    agent.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    const ended = agent.records.filter((r) => r['msg'] === 'op ended').map((r) => [r['op'], r['success']]);
    expect(ended).toEqual(expect.arrayContaining([['acq', true], ['count', true]]));
  });

  it('says clearly that the instance-id is taken and exits 1', async () => {
    const router = await startTestRouter();
    const site = writeSiteFile({
      url: router.url,
      httpUrl: router.httpUrl,
      hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'fd' }] } },
    });
    const first = spawnOcs(['agent', '--site-file', site.file, '--instance-id', 'fd']);
    await first.waitForLog('joined and registered');
    const second = spawnOcs(['agent', '--site-file', site.file, '--instance-id', 'fd']);
    expect(await second.exited).toBe(1);
    expect(second.records.some((r) => /already registered at .*\.fd: instance-id 'fd' is in use/.test(String(r['msg'])))).toBe(true);
  });

  it('exits 78 naming the known classes for an unknown agent class', async () => {
    const router = await startTestRouter();
    const site = writeSiteFile({
      url: router.url,
      httpUrl: router.httpUrl,
      hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'Lakeshore372Agent', 'instance-id': 'ls1' }] } },
    });
    const p = spawnOcs(['agent', '--site-file', site.file, '--instance-id', 'ls1']);
    expect(await p.exited).toBe(78);
    expect(p.stderr()).toMatch(/unknown agent class 'Lakeshore372Agent' for instance 'ls1'; known classes: .*FakeDataAgent/);
  });

  it('exits 78 naming the flag for bad agent arguments', async () => {
    const router = await startTestRouter();
    const site = writeSiteFile({
      url: router.url,
      httpUrl: router.httpUrl,
      hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'fd', arguments: ['--num-channels', 'many'] }] } },
    });
    const p = spawnOcs(['agent', '--site-file', site.file, '--instance-id', 'fd']);
    expect(await p.exited).toBe(78);
    expect(p.stderr()).toMatch(/--num-channels/);
  });
});
