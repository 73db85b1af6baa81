/**
 * An agent whose router is not there says so at once, naming the URL, keeps retrying for
 * `--crossbar-timeout` seconds, then exits with a final line that names the URL too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { spawnOcs } from '../../helpers/agent-process.js';
import { registerCleanup } from '../../helpers/router.js';
import { freePort } from '../../helpers/up-process.js';

describe('an agent without its router', () => {
  it('logs "router URL unreachable, retrying for N s" at the first failed attempt, once, and names the URL when it gives up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocs-unreachable-'));
    registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const url = `ws://127.0.0.1:${await freePort()}/ws`;
    const site = join(dir, 'site.yaml');
    writeFileSync(site, stringify({ hub: { wamp_server: url, wamp_http: url.replace('ws://', 'http://').replace('/ws', '/call'), wamp_realm: 'test_realm', address_root: 'observatory' }, hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'lonely', arguments: ['--mode', 'idle'] }] } } }));
    const agent = spawnOcs(['agent', '--site-file', site, '--instance-id', 'lonely', '--crossbar-timeout', '3']);
    const first = await agent.waitForLog(`router ${url} unreachable, retrying for 3 s`, 5_000);
    expect(first).toMatchObject({ level: 40, url });
    const exit = await agent.exited;
    expect(exit).not.toBe(0);
    const messages = agent.records.map((r) => String(r['msg']));
    expect(messages.filter((m) => m.includes('unreachable'))).toHaveLength(1);
    expect(messages).toContain(`no router at ${url} for 3 s; stopping operations and exiting`);
  });
});
