/**
 * `ocs up` on the default site, end to end: the embedded router, the HostManager and the agents
 * it brings up (registry, fake-data1, fake-data2), a progress line per agent, then Ctrl-C (SIGINT)
 * stops everything in order. The site is site-config/default.yaml with only the hub moved to a
 * free port (the machine is shared), so `npm start` runs exactly this system.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { OcsClient } from '../../lib/client/ocs-client.js';
import { loadSiteConfig } from '../../lib/site-config/load.js';
import { OCS_BIN } from '../helpers/agent-process.js';
import { projectRoot } from '../helpers/project-root.js';
import { waitFor } from '../helpers/wait.js';
import { isAlive, killEverything, pidsWithEnv } from '../integration/supervisor/process-fixtures.js';

const DEFAULT_SITE = join(projectRoot(), 'site-config', 'default.yaml');
const UP_TIMEOUT_MS = 60_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

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
    const dir = mkdtempSync(join(tmpdir(), 'ocs-up-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const stateDir = join(dir, 'state');
    cleanups.push(() => killEverything(stateDir));
    const port = await freePort();
    const doc = parse(readFileSync(DEFAULT_SITE, 'utf8')) as { hub: Record<string, string> };
    doc.hub['wamp_server'] = `ws://127.0.0.1:${port}/ws`;
    doc.hub['wamp_http'] = `http://127.0.0.1:${port}/call`;
    const siteFile = join(dir, 'default.yaml');
    writeFileSync(siteFile, stringify(doc));

    const up = spawn(process.execPath, [OCS_BIN(), 'up', '--site-file', siteFile, '--site-host', 'localhost', '--state-dir', stateDir, '--log-dir', join(dir, 'logs')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    up.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    up.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));
    cleanups.push(() => {
      if (up.exitCode === null && up.signalCode === null) up.kill('SIGKILL');
    });

    for (const line of [`router listening on ws://127.0.0.1:${port}/ws`, 'up: registry (RegistryAgent)', 'up: fake-data1 (FakeDataAgent)', 'up: fake-data2 (FakeDataAgent)']) {
      await waitFor(() => out.includes(`${line}\n`), { timeoutMs: UP_TIMEOUT_MS, what: `"${line}" in: ${out}` });
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
    expect(out).toMatch(/^starting hm-localhost \(HostManager, pid \d+\); its log: .*hm-localhost\.log$/m);
    expect(out).not.toContain('up: hm-localhost');
    await hm.close();
    const children = pidsWithEnv(stateDir);
    expect(children).toHaveLength(3);

    up.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('stopping (SIGINT): hm-localhost stops its agents\n');
    expect(out).toContain('hm-localhost stopped (exit 0)\n');
    expect(out.trimEnd().endsWith('router stopped')).toBe(true);
    for (const pid of children) expect(isAlive(pid)).toBe(false);
  });
});
