import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessDirector, type DirectorHost } from '../../../agents/access-director/agent.js';
import { parseDirectorConfig } from '../../../agents/access-director/config.js';
import type { Clock } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import { AccessControl, hashPassword } from '../../../lib/ops/access.js';
import { isWampFloat } from '../../../lib/wamp/float.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const CONFIG = `
passwords:
  - default: true
    password_1: ''
    password_2: 'adv-pw'
  - agent_class: FakeDataAgent
    password_3: {hash: md5, value: ${hashPassword('md5', 'full-pw')}}
exclusive_access_blocks:
  - name: fake-subsystem
    password: 'block-pw'
    grants:
      - {agent_class: FakeDataAgent, cred_level: 2, lockout_levels: [2, 3]}
      - {default: true, cred_level: 1, lockout_levels: [3]}
`;

function manualClock(startMs = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = startMs;
  return {
    nowMs: () => now,
    setTimeout: () => ({}),
    clearTimeout: () => undefined,
    setInterval: () => ({}),
    clearInterval: () => undefined,
    advance: (ms) => {
      now += ms;
    },
  };
}

function director(text = CONFIG) {
  const dir = mkdtempSync(join(tmpdir(), 'ocs-ad-'));
  dirs.push(dir);
  const file = join(dir, 'access.yaml');
  writeFileSync(file, text);
  const published: Record<string, unknown>[] = [];
  const host: DirectorHost = {
    logger: silentLogger(),
    registerFeed: (() => undefined) as unknown as DirectorHost['registerFeed'],
    registerProcess: () => undefined,
    registerTask: () => undefined,
    registerProcedure: async () => undefined,
    publishToFeed: (_name, message) => published.push(message as Record<string, unknown>),
  };
  const clock = manualClock();
  const ad = new AccessDirector(host, file, clock);
  return { ad, published, clock, file };
}

/** An agent's view of the rules: what a password gives FakeDataAgent `faker1` under them. */
function levelFor(message: Record<string, unknown>, password: string | null, agentClass = 'FakeDataAgent', instanceId = 'faker1') {
  const ac = new AccessControl({ policy: 'director:access-director', agentClass, instanceId, clock: manualClock() });
  expect(ac.applyDirectorMessage(message)).toBe(true);
  return ac.credentials(password);
}

describe('Access Director config', () => {
  it('hashes clear passwords with distrib_hashfunc, keeps hashed and free ones, and scopes each level', () => {
    const c = parseDirectorConfig({ passwords: [{ default: true, password_1: '', password_2: 'adv-pw' }, { instance_id: 'faker*', password_3: { hash: 'md5', value: 'abcd' } }] }, 'f.yaml');
    expect(c.rules).toEqual([
      { hashed_pass: { hash: 'none', value: '' }, cred_level: 1, scope_spec: { default: true, agent_class: null, instance_id: null }, lockout_id: null, lockout_owner: null, lockout_levels: [] },
      { hashed_pass: { hash: 'md5', value: hashPassword('md5', 'adv-pw') }, cred_level: 2, scope_spec: { default: true, agent_class: null, instance_id: null }, lockout_id: null, lockout_owner: null, lockout_levels: [] },
      { hashed_pass: { hash: 'md5', value: 'abcd' }, cred_level: 3, scope_spec: { default: false, agent_class: null, instance_id: 'faker*' }, lockout_id: null, lockout_owner: null, lockout_levels: [] },
    ]);
    // md5 is the first 16 hex digits of MD5 of the UTF-8 text
    expect(hashPassword('md5', 'adv-pw')).toMatch(/^[0-9a-f]{16}$/);
    expect(hashPassword('md5', 'password')).toBe('5f4dcc3b5aa765d6');
    // distrib_hashfunc none sends clear text; passwords_block_default_hashfunc md5 means the file holds hashes
    expect(parseDirectorConfig({ distrib_hashfunc: 'none', passwords: [{ default: true, password_2: 'x' }] }, 'f').rules[0]!.hashed_pass).toEqual({ hash: 'none', value: 'x' });
    expect(parseDirectorConfig({ passwords_block_default_hashfunc: 'md5', passwords: [{ default: true, password_2: 'abcdef0123456789' }] }, 'f').rules[0]!.hashed_pass).toEqual({ hash: 'md5', value: 'abcdef0123456789' });
  });

  it('refuses a broken config naming the file and the path', () => {
    expect(() => parseDirectorConfig({ passwords: [{ default: true, password_9: 'x' }] }, 'access.yaml')).toThrow(ConfigError);
    expect(() => parseDirectorConfig({ passwords: [{ default: true, password_9: 'x' }] }, 'access.yaml')).toThrow(/^access\.yaml: passwords\.0: /);
    expect(() => parseDirectorConfig({ exclusive_access_blocks: [{ name: 'g', grants: [{ cred_level: 7 }] }] }, 'access.yaml')).toThrow(/access\.yaml: exclusive_access_blocks\.0\.grants\.0\.cred_level/);
    expect(() => parseDirectorConfig({ distrib_hashfunc: 'sha1' }, 'access.yaml')).toThrow(/access\.yaml: distrib_hashfunc/);
  });
});

describe('Access Director', () => {
  it('publishes the full rules at start and a targeted reply to agent_poll', () => {
    const { ad, published } = director();
    ad.tick();
    expect(published).toEqual([{ reset: true, ac_version: 1, step: 2, rules: expect.any(Array) }]);
    expect((published[0]!['rules'] as unknown[]).length).toBe(3);
    expect(ad.agentPoll('registry', 'RegistryAgent')).toBe(true);
    expect(ad.agentPoll(null, 'RegistryAgent')).toBe(false);
    ad.tick();
    // the FakeDataAgent-only rule is not in the registry's reply
    expect(published[1]).toEqual({ target: 'registry', ac_version: 1, step: 2, rules: expect.any(Array) });
    expect((published[1]!['rules'] as unknown[]).length).toBe(2);
    expect(levelFor(published[0]!, 'adv-pw').level).toBe(2);
    expect(levelFor(published[0]!, 'full-pw').level).toBe(3);
    expect(levelFor(published[0]!, null).level).toBe(1);
  });

  it('acquires, renews and releases a grant with OCS’s replies, and locks the others out meanwhile', () => {
    const { ad, published, clock } = director();
    ad.tick();
    expect(ad.requestExclusive({ grant_name: 'nope', action: 'acquire', password: 'block-pw' })).toEqual({ error: 'Named grant not found (nope)' });
    expect(ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'acquire', password: 'wrong' })).toEqual({ error: 'Credential failed to access (fake-subsystem)' });
    expect(ad.requestExclusive({ action: 'acquire' })).toEqual({ error: 'No grant_name specified.' });
    const acquired = ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'acquire', password: 'block-pw', grantee: 'alice', expire_at: null });
    expect(acquired).toMatchObject({ message: 'grant acquired', password: expect.stringMatching(/^[A-Za-z]{8}$/), grant_name: 'fake-subsystem', step: 3 });
    const expireAt = acquired['expire_at'];
    expect(isWampFloat(expireAt) && expireAt.value).toBe(clock.nowMs() / 1000 + 60);
    ad.tick();
    const withGrant = published.at(-1)!;
    expect(withGrant).toMatchObject({ reset: true, step: 3 });
    // the others: adv-pw gives 2, locked out at 2 and 3 ⇒ 1, with OCS's suffix
    expect(levelFor(withGrant, 'adv-pw')).toEqual({ level: 1, detail: "Privileges diminished; lockouts active: ['fake-subsystem[alice]']" });
    expect(levelFor(withGrant, acquired['password'] as string).level).toBe(2);
    // another agent class only loses level 3
    expect(levelFor(withGrant, 'adv-pw', 'RegistryAgent', 'registry')).toEqual({ level: 2, detail: '' });

    expect(ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'acquire', password: 'block-pw', grantee: 'bob' })).toEqual({ error: 'Grant is already held (grantee: alice); release it first.' });
    const renewed = ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'renew', password: 'block-pw', expire_at: clock.nowMs() / 1000 + 300 });
    expect(renewed).toMatchObject({ message: 'grant renewed', grant_name: 'fake-subsystem', step: 3 });
    expect(ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'release', password: 'block-pw' })).toEqual({ message: 'grant released', grant_name: 'fake-subsystem', step: 4 });
    expect(ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'release', password: 'block-pw' })).toEqual({ error: 'Grant is not currently held; cannot release.' });
    expect(ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'release', password: 'block-pw', strict: false })).toEqual({ message: 'grant released', grant_name: 'fake-subsystem', step: 4 });
    expect(ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'renew', password: 'block-pw' })).toEqual({ error: 'Grant is not currently held; cannot renew.' });
    ad.tick();
    expect(levelFor(published.at(-1)!, 'adv-pw')).toEqual({ level: 2, detail: '' });
  });

  it('frees an expired grant on the next feed message, and blasts the rules every 60 s', () => {
    const { ad, published, clock } = director();
    ad.tick();
    ad.requestExclusive({ grant_name: 'fake-subsystem', action: 'acquire', password: 'block-pw', grantee: 'alice', expire_at: clock.nowMs() / 1000 + 5 });
    ad.tick();
    expect(levelFor(published.at(-1)!, 'adv-pw').level).toBe(1);
    const before = published.length;
    clock.advance(5001);
    ad.tick();
    expect(published.length).toBe(before + 1);
    expect(levelFor(published.at(-1)!, 'adv-pw')).toEqual({ level: 2, detail: '' });
    clock.advance(59_000);
    ad.tick();
    expect(published.length).toBe(before + 1);
    clock.advance(2000);
    ad.tick();
    ad.tick();
    expect(published.length).toBe(before + 2);
    expect(published.at(-1)).toMatchObject({ reset: true });
  });

  it('keeps its rules when reload_config finds a broken file, and fails the task naming it', () => {
    const { ad, published, file } = director();
    ad.tick();
    writeFileSync(file, 'passwords: [ {default: true, password_2: ');
    const [ok, message] = ad.reloadConfig();
    expect(ok).toBe(false);
    expect(message).toContain(`${file}: invalid YAML`);
    writeFileSync(file, 'passwords:\n  - {default: true, password_5: x}\n');
    expect(ad.reloadConfig()[1]).toContain(`${file}: passwords.0`);
    ad.tick();
    expect(published).toHaveLength(1);
    writeFileSync(file, "passwords:\n  - {default: true, password_2: 'new-pw'}\n");
    expect(ad.reloadConfig()).toEqual([true, 'Update requested.']);
    ad.tick();
    expect(levelFor(published.at(-1)!, 'new-pw').level).toBe(2);
    expect(levelFor(published.at(-1)!, 'adv-pw').level).toBe(0);
  });
});
