/**
 * Threat (to availability): one SIGKILL of the HostManager under `ocs up` (an OOM kill, a stray
 * `kill -9`) took the router down with it and, 10 s later, every agent. The router and the
 * agents must stay up, and `ocs up` starts a new HostManager, which re-adopts the agents.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { startUp } from '../helpers/up-process.js';
import { waitFor } from '../helpers/wait.js';
import { isAlive } from '../integration/supervisor/process-fixtures.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Child {
  instance_id: string;
  state: string;
}

async function servicePids(url: string): Promise<Record<string, { pid: number; adopted: boolean; state: string }>> {
  const hm = await OcsClient.connect('hm-localhost', { url, realm: 'test_realm', addressRoot: 'observatory', transport: 'wamp' });
  try {
    const reply = await hm.op('manager').status();
    const data = 'data' in reply.session ? (reply.session.data as { child_states: Child[]; services: Record<string, { pid: number; adopted: boolean; state: string }> }) : undefined;
    if (data === undefined || data.child_states.filter((c) => c.state === 'RUNNING').length !== 3) throw new Error('not all three children RUNNING yet');
    return data.services;
  } finally {
    await hm.close();
  }
}

describe('ocs up and its HostManager', () => {
  it('keeps the router and the agents up through a SIGKILL of the HostManager, and restarts it', async () => {
    const up = await startUp();
    cleanups.push(() => up.cleanup());
    for (const line of ['up: registry (RegistryAgent)', 'up: fake-data1 (FakeDataAgent)', 'up: fake-data2 (FakeDataAgent)']) await up.waitForLine(line);
    const hmPid = Number(/^starting hm-localhost \(HostManager, pid (\d+)\)/m.exec(up.output())?.[1]);
    const before = await waitFor(() => servicePids(up.url), { timeoutMs: 60_000, what: 'three children RUNNING' });

    process.kill(hmPid, 'SIGKILL');
    await up.waitForLine('hm-localhost ended (killed by SIGKILL, exit 137); the router and the agents stay up; restarting it in 1 s', 10_000);
    // meanwhile the router answers and the agents work
    const client = await OcsClient.connect('fake-data1', { url: up.url, realm: 'test_realm', addressRoot: 'observatory', transport: 'wamp' });
    cleanups.push(() => client.close());
    const status = await client.op('acq').status();
    expect(status.session).toMatchObject({ op_name: 'acq', status: 'running' });

    await waitFor(() => /^restarted hm-localhost \(pid \d+\); it re-adopts its agents$/m.test(up.output()), { timeoutMs: 15_000, what: 'the restart line' });
    const after = await waitFor(() => servicePids(up.url), { timeoutMs: 60_000, what: 'children RUNNING under the new HostManager' });
    for (const id of ['registry', 'fake-data1', 'fake-data2']) {
      expect(after[id]).toMatchObject({ pid: before[id]!.pid, adopted: true, state: 'RUNNING' });
    }
    expect(up.output()).not.toContain('router stopped');

    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
    for (const id of ['registry', 'fake-data1', 'fake-data2']) expect(isAlive(before[id]!.pid)).toBe(false);
  }, 150_000);
});
