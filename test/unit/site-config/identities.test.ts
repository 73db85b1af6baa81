import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { agentTicket, ensureIdentityKey, ownTicket, readIdentityKey } from '../../../lib/site-config/identities.js';
import { parseEnv } from '../../../lib/site-config/env.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ocs-key-'));
  dirs.push(d);
  return d;
}

describe('agent identities', () => {
  it('makes a key file of 64 hex digits, readable by its owner only, and keeps it', () => {
    const path = join(dir(), 'state', 'identity.key');
    const key = ensureIdentityKey(path);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(ensureIdentityKey(path)).toBe(key);
    expect(readFileSync(path, 'utf8').trim()).toBe(key);
  });

  it('derives one ticket per instance id, different for each id and key', () => {
    const k1 = '1'.repeat(64);
    expect(agentTicket(k1, 'registry')).toBe(agentTicket(k1, 'registry'));
    expect(agentTicket(k1, 'registry')).not.toBe(agentTicket(k1, 'fake-data1'));
    expect(agentTicket(k1, 'registry')).not.toBe(agentTicket('2'.repeat(64), 'registry'));
    expect(agentTicket(k1, 'registry')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a key file that is not a key, naming it', () => {
    const path = join(dir(), 'identity.key');
    writeFileSync(path, 'password123\n');
    expect(() => readIdentityKey(path)).toThrow(ConfigError);
    expect(() => readIdentityKey(path)).toThrow(`${path}: an identity key is 64 hex digits`);
    expect(() => readIdentityKey(join(dir(), 'missing'))).toThrow(/cannot read the identity key/);
  });

  it('finds an agent its ticket: given, derived from the key file, or a clear error when the site needs one', () => {
    const path = join(dir(), 'identity.key');
    const key = ensureIdentityKey(path);
    expect(ownTicket(parseEnv({ OCS_AGENT_TICKET: 't' }), 'registry', true)).toBe('t');
    expect(ownTicket(parseEnv({ OCS_IDENTITY_KEY_FILE: path }), 'registry', true)).toBe(agentTicket(key, 'registry'));
    expect(ownTicket(parseEnv({}), 'registry', false)).toBeUndefined();
    expect(() => ownTicket(parseEnv({}), 'registry', true)).toThrow(/set OCS_AGENT_TICKET, or OCS_IDENTITY_KEY_FILE/);
  });
});
