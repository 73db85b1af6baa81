/**
 * `ocs up` on the default site, end to end: the embedded router, the HostManager and the agents
 * it brings up (registry, fake-data1, fake-data2), a progress line per agent, then Ctrl-C (SIGINT)
 * stops everything in order. The site is site-config/default.yaml with only the hub moved to a
 * free port (the machine is shared), so `npm start` runs exactly this system.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { loadSiteConfig } from '../../lib/site-config/load.js';
import { OCS_BIN } from '../helpers/agent-process.js';
import { DEFAULT_SITE, UP_TIMEOUT_MS, startUp } from '../helpers/up-process.js';
import { startHeartbeatPeer } from '../integration/registry/python-peer.js';
import { waitFor } from '../helpers/wait.js';
import { isAlive, pidsWithEnv } from '../integration/supervisor/process-fixtures.js';

const cleanups: (() => void)[] = [];

/** The keys of a JSON object line at its top level, in order, repeats kept (JSON.parse drops them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && line[j + 1] === ':') keys.push(line.slice(i + 1, j));
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}
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

  it('announces only its own agents, refuses a second system on the same state dir with the holder named (exit 75), and logs no key twice', async () => {
    const up = await startUp();
    cleanups.push(() => up.cleanup());
    for (const line of ['up: registry (RegistryAgent)', 'up: fake-data1 (FakeDataAgent)', 'up: fake-data2 (FakeDataAgent)']) await up.waitForLine(line);
    // another system's agent on the same router
    const stranger = startHeartbeatPeer('beat', up.url, 'observatory.stranger', { beats: 3 });
    await up.waitForLine('also on the router, not started here: stranger (PythonFakeAgent)');
    await stranger.finish();
    expect(up.output()).not.toContain('up: stranger');

    const dir = dirname(up.stateDir);
    const second = spawn(process.execPath, [OCS_BIN(), 'up', '--site-file', up.siteFile, '--site-host', 'localhost', '--state-dir', up.stateDir, '--log-dir', join(dir, 'logs-2')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    second.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const code = await new Promise<number | null>((resolve) => second.once('exit', (c) => resolve(c)));
    expect(code).toBe(75);
    expect(out).toMatch(/^hm-localhost not started: another HostManager \(pid \d+\) holds \S+sup-00\.lock; stop it first or use another instance index$/m);
    // the first system is untouched
    expect(up.child.exitCode).toBeNull();

    up.child.kill('SIGINT');
    expect(await up.exited).toBe(0);
    // structured logs: no line repeats a key (child loggers bind keys of their own)
    const repeated: string[] = [];
    for (const file of readdirSync(join(dir, 'logs'))) {
      for (const line of readFileSync(join(dir, 'logs', file), 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        const keys = topLevelKeys(line);
        const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
        if (twice.length > 0) repeated.push(`${file}: ${twice.join(',')} in ${line.slice(0, 200)}`);
      }
    }
    expect(repeated).toEqual([]);
  });
});

