import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import { AccessControl, fnmatch, patternMatch, rejectionMessage } from '../../../lib/ops/access.js';

const T0_MS = 1_700_000_000_000;

function control(policy: string | null | undefined, instanceId = 'fake-data1'): AccessControl {
  return new AccessControl({ policy, agentClass: 'FakeDataAgent', instanceId, clock: systemClock });
}

function md5short(text: string): string {
  return createHash('md5').update(text).digest('hex').slice(0, 16);
}

describe('AccessControl', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0_MS);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives everyone level 1 under none, empty or absent policies, superuser included', () => {
    for (const policy of ['none', '', null, undefined]) {
      const ac = control(policy);
      expect(ac.policy).toBe('none');
      expect(ac.credentials('anything').level).toBe(1);
      expect(ac.credentials(null, true)).toEqual({ level: 1, detail: 'No access policy -- level 1 for all.' });
    }
  });

  it('maps override passwords to levels 1-3', () => {
    const ac = control('override:pw2,pw3');
    expect(ac.policy).toBe('override');
    expect(ac.credentials(null).level).toBe(1);
    expect(ac.credentials('wrong').level).toBe(1);
    expect(ac.credentials('pw2')).toEqual({ level: 2, detail: '' });
    expect(ac.credentials('pw3').level).toBe(3);
    expect(ac.credentials(null, true)).toEqual({ level: 4, detail: 'Super-user.' });
  });

  it('blocks everything under director until rules arrive', () => {
    const ac = control('director:');
    expect(ac.policy).toBe('director');
    expect(ac.directorId).toBe('access-director');
    expect(control('director:ad2').directorId).toBe('ad2');
    expect(ac.credentials(null).level).toBe(0);
    expect(ac.credentials('x').level).toBe(0);
    expect(ac.credentials(null, true).level).toBe(4);
    vi.setSystemTime(T0_MS + 5000);
    ac.setRules(
      [
        { hashed_pass: { hash: 'none', value: '' }, cred_level: 1, scope_spec: { default: true } },
        { hashed_pass: { hash: 'md5', value: md5short('secret') }, cred_level: 3, scope_spec: { agent_class: 'Fake*' } },
        { hashed_pass: { hash: 'md5', value: md5short('other') }, cred_level: 2, scope_spec: { instance_id: '!fake-data1' } },
      ],
      7,
    );
    expect(ac.credentials(null).level).toBe(1);
    expect(ac.credentials('secret').level).toBe(3);
    expect(ac.credentials('other').level).toBe(1);
    expect(ac.accessData()).toEqual({ version: 1, policy: 'director', update_timestamp: T0_MS / 1000 + 5, update_count: 1, step: 7 });
  });

  it('lowers the level through lockouts, with the detail text', () => {
    const ac = control('director:');
    ac.setRules([
      { hashed_pass: { hash: 'none', value: '' }, cred_level: 1 },
      { hashed_pass: { hash: 'none', value: 'pw3' }, cred_level: 3 },
      { hashed_pass: { hash: 'md5', value: md5short('grantpw') }, cred_level: 3, lockout_id: 'cryo', lockout_owner: 'bob', lockout_levels: [2, 3] },
    ]);
    expect(ac.credentials('pw3')).toEqual({ level: 1, detail: "Privileges diminished; lockouts active: ['cryo[bob]']" });
    expect(ac.credentials('grantpw')).toEqual({ level: 3, detail: '' });
  });

  it('applies director messages for reset or this instance only', () => {
    const ac = control('director:');
    const rules = [{ hashed_pass: { hash: 'none', value: '' }, cred_level: 2 }];
    expect(ac.applyDirectorMessage({ ac_version: 2, reset: true, step: 1, rules })).toBe(false);
    expect(ac.applyDirectorMessage({ ac_version: 1, target: 'other', step: 1, rules })).toBe(false);
    expect(ac.applyDirectorMessage({ ac_version: 1, step: 1, rules: 'bad' })).toBe(false);
    expect(ac.credentials(null).level).toBe(0);
    expect(ac.applyDirectorMessage({ ac_version: 1, target: 'fake-data1', step: 3, rules })).toBe(true);
    expect(ac.credentials(null).level).toBe(2);
    expect(ac.accessData()).toMatchObject({ update_count: 1, step: 3 });
    expect(ac.applyDirectorMessage({ ac_version: 1, reset: true, step: 4, rules: [] })).toBe(true);
    expect(ac.credentials(null).level).toBe(0);
  });

  it('reports the access_control block with its key order', () => {
    const ac = control('override:a,b');
    expect(Object.keys(ac.accessData())).toEqual(['version', 'policy', 'update_timestamp', 'update_count', 'step']);
    expect(ac.accessData()).toEqual({ version: 1, policy: 'override', update_timestamp: T0_MS / 1000, update_count: 0, step: 0 });
  });

  it('refuses malformed policies', () => {
    expect(() => control('override:onlyone')).toThrow(ConfigError);
    expect(() => control('bogus:x')).toThrow('invalid access policy: expected none, director:<instance-id> or override:<password2>,<password3>');
    expect(() => control('bogus')).toThrow(ConfigError);
  });
});

describe('rejectionMessage', () => {
  it('matches OCS exactly', () => {
    expect(rejectionMessage(1, 2)).toBe('The action requires credential level 2-ADVANCED but the client has only level 1-BASIC');
    expect(rejectionMessage(0, 1, 'x')).toBe('The action requires credential level 1-BASIC but the client has only level 0-BLOCKED x');
  });
});

describe('patternMatch', () => {
  it('follows the OCS examples', () => {
    expect(patternMatch('Director', 'Director,Act*,*Producer*')).toBe(true);
    expect(patternMatch('Actor', 'Director,Act*,*Producer*')).toBe(true);
    expect(patternMatch('MyProducerX', 'Director,Act*,*Producer*')).toBe(true);
    expect(patternMatch('Writer', 'Director,Act*,*Producer*')).toBe(false);
    expect(patternMatch('HostAgent', '*Agent,!FakeDataAgent')).toBe(true);
    expect(patternMatch('FakeDataAgent', '*Agent,!FakeDataAgent')).toBe(false);
    expect(patternMatch('compute7', 'compute*,login*,!*9,!*8')).toBe(true);
    expect(patternMatch('login9', 'compute*,login*,!*9,!*8')).toBe(false);
    expect(patternMatch('anything', '!nope')).toBe(true);
  });

  it('implements fnmatch sets and escapes', () => {
    expect(fnmatch('a1', 'a[0-9]')).toBe(true);
    expect(fnmatch('ab', 'a[!0-9]')).toBe(true);
    expect(fnmatch('a1', 'a[!0-9]')).toBe(false);
    expect(fnmatch('a.b', 'a?b')).toBe(true);
    expect(fnmatch('axb', 'a.b')).toBe(false);
    expect(fnmatch('a[', 'a[')).toBe(true);
  });
});
