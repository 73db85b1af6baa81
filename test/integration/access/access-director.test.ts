/**
 * Access control as OCS v0.12.0 has it, with real processes on the embedded router: the
 * AccessDirector agent, a FakeDataAgent under `director:`, OcsClient, the `ocs` CLI and Debian's
 * python3-autobahn as an independent client sending the `password` kwarg.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { OcsClient } from '../../../lib/client/ocs-client.js';
import { spawnOcs, type AgentProcess } from '../../helpers/agent-process.js';
import { runOcsFlow } from '../../helpers/python-ocs.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';

const ACCESS = `
passwords:
  - default: true
    password_1: ''
    password_2: 'adv-pw'
exclusive_access_blocks:
  - name: fake-subsystem
    password: 'block-pw'
    grants:
      - {agent_class: FakeDataAgent, cred_level: 2, lockout_levels: [2, 3]}
`;

let router: TestRouter;
beforeAll(async () => {
  router = await startTestRouter();
});

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Site {
  dir: string;
  file: string;
  root: string;
  accessFile: string;
}

function writeSite(): Site {
  const dir = mkdtempSync(join(tmpdir(), 'ocs-access-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const root = `t${Math.random().toString(36).slice(2, 10)}`;
  const file = join(dir, 'site.yaml');
  writeFileSync(
    file,
    stringify({
      hub: { wamp_server: router.url, wamp_http: router.httpUrl, wamp_realm: router.realm, address_root: root, access_policy: 'director:access-director' },
      hosts: {
        localhost: {
          'agent-instances': [
            { 'agent-class': 'AccessDirector', 'instance-id': 'access-director', arguments: ['--config-file', 'access.yaml'] },
            { 'agent-class': 'FakeDataAgent', 'instance-id': 'faker1', arguments: ['--mode', 'idle'] },
          ],
        },
      },
    }),
  );
  const accessFile = join(dir, 'access.yaml');
  writeFileSync(accessFile, ACCESS);
  return { dir, file, root, accessFile };
}

async function agent(site: Site, id: string, env: Record<string, string> = {}): Promise<AgentProcess> {
  const p = spawnOcs(['agent', '--site-file', site.file, '--site-host', 'localhost', '--instance-id', id], env);
  cleanups.push(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
  await p.waitForLog('joined and registered', 30_000);
  return p;
}

async function client(site: Site, id: string, password?: string): Promise<OcsClient> {
  const c = await OcsClient.connect(id, { url: router.url, realm: router.realm, addressRoot: site.root, transport: 'wamp', passwordFile: join(site.dir, 'no-such-file.yaml'), ...(password !== undefined ? { password } : {}) });
  cleanups.push(() => c.close());
  return c;
}

/** Starts delay_task (0.1 s) and waits for it: the start's status and message. */
async function tryDelay(c: OcsClient): Promise<{ status: number; message: string }> {
  const start = await c.op('delay_task').start({ delay: 0.1 });
  if (start.status === 0) await c.op('delay_task').wait({ timeoutS: 10 });
  return { status: start.status, message: start.message };
}

const REFUSED_0 = 'The action requires credential level 2-ADVANCED but the client has only level 0-BLOCKED';
const REFUSED_1 = 'The action requires credential level 2-ADVANCED but the client has only level 1-BASIC';

describe('Access Director and agents under director:', () => {
  it('blocks everything until the Director answers, then applies its rules without a restart', async () => {
    const site = writeSite();
    await agent(site, 'faker1');
    const withPw = await client(site, 'faker1', 'adv-pw');
    expect(withPw.api.access_control).toMatchObject({ version: 1, policy: 'director' });
    expect(await tryDelay(withPw)).toEqual({ status: -1, message: REFUSED_0 });

    await agent(site, 'access-director');
    await waitFor(async () => (await tryDelay(withPw)).status === 0, { timeoutMs: 20_000, what: 'rules from the Director' });
    const anonymous = await client(site, 'faker1');
    expect(await tryDelay(anonymous)).toEqual({ status: -1, message: REFUSED_1 });
    const api = await withPw.getApi();
    expect(api.access_control).toMatchObject({ policy: 'director', update_count: expect.any(Number), step: 2 });
    expect(api.tasks.find((t) => t[0] === 'delay_task')![2]).toMatchObject({ min_privs: 2 });
  });

  it('locks a second client out with an exclusive grant, lets the grant holder in, and frees the lock on release and on expiry', async () => {
    const site = writeSite();
    await agent(site, 'access-director');
    await agent(site, 'faker1');
    const other = await client(site, 'faker1', 'adv-pw');
    await waitFor(async () => (await tryDelay(other)).status === 0, { timeoutMs: 20_000, what: 'rules' });

    const director = await client(site, 'access-director');
    await expect(director.exclusive('fake-subsystem', { password: 'wrong' })).rejects.toThrow('Credential failed to access (fake-subsystem)');
    const grant = await director.exclusive('fake-subsystem', { password: 'block-pw', grantee: 'alice' });
    expect(grant.password).toMatch(/^[A-Za-z]{8}$/);
    await waitFor(async () => (await tryDelay(other)).status !== 0, { timeoutMs: 10_000, what: 'the lockout applied' });
    expect(await tryDelay(other)).toEqual({ status: -1, message: `${REFUSED_1} Privileges diminished; lockouts active: ['fake-subsystem[alice]']` });
    const holder = await client(site, 'faker1', grant.password!);
    expect((await tryDelay(holder)).status).toBe(0);
    // a second acquire is refused while the grant is held
    await expect(director.exclusive('fake-subsystem', { password: 'block-pw', grantee: 'bob' })).rejects.toThrow('Grant is already held (grantee: alice); release it first.');

    await grant.release();
    await waitFor(async () => (await tryDelay(other)).status === 0, { timeoutMs: 10_000, what: 'the lock freed on release' });

    const short = await director.exclusive('fake-subsystem', { password: 'block-pw', grantee: 'carol', durationS: 2, shouldRenew: false });
    await waitFor(async () => (await tryDelay(other)).status !== 0, { timeoutMs: 10_000, what: 'the second lockout' });
    await waitFor(async () => (await tryDelay(other)).status === 0, { timeoutMs: 15_000, what: 'the lock freed on expiry' });
    short.stop();
  });

  it('keeps the old rules when reload_config finds a broken file, takes a good one, and survives a Director restart', async () => {
    const site = writeSite();
    const ad = await agent(site, 'access-director');
    await agent(site, 'faker1');
    const oldPw = await client(site, 'faker1', 'adv-pw');
    await waitFor(async () => (await tryDelay(oldPw)).status === 0, { timeoutMs: 20_000, what: 'rules' });
    const director = await client(site, 'access-director');

    writeFileSync(site.accessFile, 'passwords:\n  - {default: true, password_2: ');
    const broken = await director.op('reload_config').start({});
    const done = broken.status === 0 ? await director.op('reload_config').wait({ timeoutS: 10 }) : broken;
    expect(done.session).toMatchObject({ success: false });
    expect(JSON.stringify(done.session)).toContain(`${site.accessFile}: invalid YAML`);
    expect((await tryDelay(oldPw)).status).toBe(0);

    // a Director that comes back with new rules: the agent takes them without a restart
    ad.kill('SIGTERM');
    expect(await ad.exited).toBe(0);
    writeFileSync(site.accessFile, "passwords:\n  - {default: true, password_2: 'new-pw'}\n");
    await agent(site, 'access-director');
    const newPw = await client(site, 'faker1', 'new-pw');
    await waitFor(async () => (await tryDelay(newPw)).status === 0, { timeoutMs: 20_000, what: 'the new rules' });
    expect((await tryDelay(oldPw)).status).toBe(-1);
  });

  it('exits 78 naming the file and the path for a broken config at start', async () => {
    const site = writeSite();
    writeFileSync(site.accessFile, 'passwords:\n  - {default: true, password_7: x}\n');
    const p = spawnOcs(['agent', '--site-file', site.file, '--site-host', 'localhost', '--instance-id', 'access-director']);
    expect(await p.exited).toBe(78);
    const stderr = p.child.stderr!;
    if (!stderr.readableEnded) await new Promise((r) => stderr.once('end', r));
    expect(p.stderr()).toContain(`${site.accessFile}: passwords.0`);
  });

  it('serves the CLI: call with the password file, and grant acquire/release', async () => {
    const site = writeSite();
    await agent(site, 'access-director');
    await agent(site, 'faker1');
    const passwords = join(site.dir, 'passwords.yaml');
    writeFileSync(passwords, "- default: true\n  password_3: 'not-this'\n- agent_class: FakeDataAgent\n  password_2: 'adv-pw'\n");
    const siteArgs = ['--site-file', site.file];
    await waitFor(
      async () => {
        const call = spawnOcs(['client', 'call', 'faker1', 'delay_task', 'start', 'delay=0.1', ...siteArgs], { OCS_PASSWORDS_FILE: passwords });
        return (await call.exited) === 0;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'a CLI start with the password file' },
    );
    const refused = spawnOcs(['client', 'call', 'faker1', 'delay_task', 'start', 'delay=0.1', '--privs', '1', ...siteArgs]);
    expect(await refused.exited).toBe(1);
    const acquire = spawnOcs(['client', 'grant', 'acquire', 'fake-subsystem', '--password', 'block-pw', '--grantee', 'cli-test', ...siteArgs]);
    expect(await acquire.exited).toBe(0);
    const line = acquire.records.map((r) => String(r['raw'] ?? '')).join('\n');
    expect(line).toMatch(/^grant acquired: fake-subsystem until \S+; password [A-Za-z]{8}$/);
    const release = spawnOcs(['client', 'grant', 'release', 'fake-subsystem', '--password', 'block-pw', ...siteArgs]);
    expect(await release.exited).toBe(0);
    expect(release.records.map((r) => String(r['raw'] ?? '')).join('\n')).toBe('grant released: fake-subsystem');
    const again = spawnOcs(['client', 'grant', 'release', 'fake-subsystem', '--password', 'block-pw', ...siteArgs]);
    expect(await again.exited).toBe(1);
    expect(again.stderr()).toContain('Grant is not currently held; cannot release.');
  });

  it('answers Debian’s python3-autobahn sending the password kwarg as OCSClient does', async () => {
    const site = writeSite();
    await agent(site, 'access-director');
    await agent(site, 'faker1');
    const probe = await client(site, 'faker1', 'adv-pw');
    await waitFor(async () => (await tryDelay(probe)).status === 0, { timeoutMs: 20_000, what: 'rules' });
    const run = await runOcsFlow('password', { url: router.url, httpUrl: router.httpUrl, address: `${site.root}.faker1`, password: 'adv-pw' });
    expect(run.failure).toBeUndefined();
    expect(run.step('access_control')).toMatchObject({ policy: 'director', min_privs: 2 });
    expect(run.step('no-password')).toMatchObject({ status: -1, message: REFUSED_1 });
    expect(run.step('password')).toMatchObject({ status: 0, cred_level: 2 });
    expect(run.step('password-wait')).toMatchObject({ status: 0, success: true });
  });
});
