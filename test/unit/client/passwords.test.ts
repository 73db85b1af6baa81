import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { choosePassword, loadPasswordFile, specificity, type PasswordRule } from '../../../lib/client/passwords.js';
import { ConfigError } from '../../../lib/errors.js';

// the example of OCS's get_password docstring
const RULES: PasswordRule[] = [
  { default: true, password_3: 'general-access-password' },
  { agent_class: 'FakeDataAgent', instance_id: '!faker4,!faker1', password_2: 'normal-faker-password' },
  { instance_id: 'faker*', password_2: 'special-faker-password' },
  { instance_id: 'faker4', password_2: 'special-faker4-password' },
];

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('client password file', () => {
  it('ranks selectors as OCS does', () => {
    expect(RULES.map(specificity)).toEqual([0, 4 + 2, 8, 8]);
    expect(specificity({ agent_class: '!X' })).toBe(1);
    expect(specificity({ instance_id: 'a,!b', agent_class: 'C,!D' })).toBe(15);
  });

  it.each([
    ['faker1', 2, 'special-faker-password'],
    ['faker4', 2, 'special-faker4-password'],
    ['faker2', 2, 'special-faker-password'],
    ['faker1', 3, 'general-access-password'],
    ['other', 2, 'normal-faker-password'],
  ] as const)('gives %s at level %i the most specific password (later wins ties)', (instanceId, privs, password) => {
    expect(choosePassword(RULES, privs, 'FakeDataAgent', instanceId)).toBe(password);
  });

  it('gives another class only the default rule', () => {
    expect(choosePassword(RULES, 2, 'RegistryAgent', 'registry')).toBe('general-access-password');
  });

  it('finds the normal-faker rule for a FakeDataAgent that no instance rule names', () => {
    expect(choosePassword(RULES.slice(0, 2), 2, 'FakeDataAgent', 'faker2')).toBe('normal-faker-password');
    expect(choosePassword(RULES.slice(1, 2), 2, 'FakeDataAgent', 'faker1')).toBe('');
  });

  it('reads a file, and says clearly what is wrong with a bad one without showing passwords', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocs-pw-'));
    dirs.push(dir);
    const file = join(dir, 'pw.yaml');
    writeFileSync(file, '- default: true\n  password_2: s3cret\n');
    expect(loadPasswordFile(file)).toEqual([{ default: true, password_2: 's3cret' }]);
    expect(loadPasswordFile(join(dir, 'none.yaml'))).toBeNull();
    expect(() => loadPasswordFile(join(dir, 'none.yaml'), true)).toThrow(ConfigError);
    writeFileSync(file, '- default: true\n  password_two: s3cret\n');
    expect(() => loadPasswordFile(file)).toThrow(`${file}: the password file must be a list of {default|agent_class|instance_id, password_2|password_3}: 0: unknown key password_two`);
    writeFileSync(file, '- default: true\n  password_2: [s3cret]\n');
    let message = '';
    try {
      loadPasswordFile(file);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(file);
    expect(message).not.toContain('s3cret');
    writeFileSync(file, '- {default: true, password_2: "s3cret\n');
    expect(() => loadPasswordFile(file)).toThrow(/not valid YAML/);
  });
});
