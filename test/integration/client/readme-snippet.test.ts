/**
 * The README's TypeScript snippet runs as written (but for the router's port), inside this
 * repository: package.json `exports` resolves `ocs-ts/client`, as it does from another project.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startAgent } from '../../helpers/agent-process.js';
import { projectRoot } from '../../helpers/project-root.js';
import { registerCleanup, startTestRouter } from '../../helpers/router.js';

describe("README's TypeScript snippet", () => {
  it('runs against a FakeDataAgent through the package exports', async () => {
    const router = await startTestRouter({});
    const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toContain("from 'ocs-ts/client'");
    // inside the repository, so the package resolves itself by name
    const dir = mkdtempSync(join(projectRoot(), 'test', '.snippet-'));
    registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const site = join(dir, 'site.yaml');
    writeFileSync(site, stringify({ hub: { wamp_server: router.url, wamp_http: router.httpUrl, wamp_realm: router.realm, address_root: 'observatory' }, hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data1', arguments: ['--mode', 'idle'] }] } } }));
    await startAgent(site, 'fake-data1');
    const script = join(dir, 'snippet.mjs');
    writeFileSync(script, `${snippet!.replace('http://127.0.0.1:8001/call', router.httpUrl)}\nconsole.log(JSON.stringify({ status, message, success: session.success }));\n`);
    const child = spawn(process.execPath, [script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, err).toBe(0);
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ status: 0, message: expect.any(String), success: true });
  });
});
