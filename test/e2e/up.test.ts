/**
 * `ocs up` on the default site, end to end: the embedded router, the HostManager and the agents
 * it brings up (registry, fake-data1, fake-data2), a progress line per agent, then Ctrl-C (SIGINT)
 * stops everything in order. The site is site-config/default.yaml with only the hub moved to a
 * free port (the machine is shared), so `npm start` runs exactly this system.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { loadSiteConfig } from '../../lib/site-config/load.js';
import { DEFAULT_SITE, UP_TIMEOUT_MS, startUp } from '../helpers/up-process.js';
import { waitFor } from '../helpers/wait.js';
import { isAlive, pidsWithEnv } from '../integration/supervisor/process-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('ocs up (npm start) on the default site', () => {
  it('lists the default system: registry and two FakeDataAgents brought up by hm-localhost', () => {
    const site = loadSiteConfig(DEFAULT_SITE);
    const instances = site.hosts['localhost']!.agentInstances.map((i) => [i.instanceId, i.agentClass, i.manage]);
    expect(instances).toEqual([
      ['registry', 'RegistryAgent', 'host/up'],
      ['fake-data1', 'FakeDataAgent', 'host/up'],
      ['fake-data2', 'FakeDataAgent', 'host/up'],
      ['hm-localhost', 'HostManager', 'ignore'],
    ]);
    expect(site.hub.wampServer).toBe('ws://127.0.0.1:8001/ws');
  });

  it('starts the router, the HostManager and its agents with a line each, and stops them all on Ctrl-C', async () => {
    const up = await startUp();
    cleanups.push(() => up.cleanup());
    const { port, stateDir } = up;
    for (const line of [`router listening on ws://127.0.0.1:${port}/ws`, 'up: registry (RegistryAgent)', 'up: fake-data1 (FakeDataAgent)', 'up: fake-data2 (FakeDataAgent)']) {
      await up.waitForLine(line);
    }
    const hm = await OcsClient.connect('hm-localhost', { url: `ws://127.0.0.1:${port}/ws`, realm: 'test_realm', addressRoot: 'observatory', transport: 'wamp' });
    let running: string[] = [];
    await waitFor(
      async () => {
        const reply = await hm.op('manager').status();
        const data = 'data' in reply.session ? (reply.session.data as { child_states: { instance_id: string; state: string }[] }) : { child_states: [] };
        running = data.child_states.filter((c) => c.state === 'RUNNING').map((c) => c.instance_id);
        return running.length === 3;
      },
      { timeoutMs: UP_TIMEOUT_MS, what: 'three children RUNNING' },
    );
    expect(running.sort()).toEqual(['fake-data1', 'fake-data2', 'registry']);
    expect(up.output()).toMatch(/^starting hm-localhost \(HostManager, pid \d+\); its log: .*hm-localhost\.log$/m);
    expect(up.output()).not.toContain('up: hm-localhost');
    await hm.close();
    const children = pidsWithEnv(stateDir);
    expect(children).toHaveLength(3);

    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
    expect(up.output()).toContain('stopping (SIGINT): hm-localhost stops its agents\n');
    expect(up.output()).toContain('hm-localhost stopped (exit 0)\n');
    expect(up.output().trimEnd().endsWith('router stopped')).toBe(true);
    for (const pid of children) expect(isAlive(pid)).toBe(false);
  });
});
