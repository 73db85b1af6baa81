import { describe, expect, it } from 'vitest';
import { normalizeManage } from '../../../lib/site-config/manage.js';

describe('normalizeManage', () => {
  it('keeps the canonical values', () => {
    for (const v of ['host/up', 'host/down', 'docker/up', 'docker/down', 'ignore', 'on-demand']) expect(normalizeManage(v)).toBe(v);
  });

  it("maps OCS's aliases and the missing value", () => {
    expect(normalizeManage('yes')).toBe('host/up');
    expect(normalizeManage('no')).toBe('ignore');
    expect(normalizeManage('docker')).toBe('docker/up');
    expect(normalizeManage('host')).toBe('host/up');
    expect(normalizeManage('up')).toBe('host/up');
    expect(normalizeManage('down')).toBe('host/down');
    expect(normalizeManage(undefined)).toBe('host/up');
    expect(normalizeManage(null)).toBe('host/up');
  });

  it('reads YAML 1.1 booleans as yes/no', () => {
    expect(normalizeManage(true)).toBe('host/up');
    expect(normalizeManage(false)).toBe('ignore');
  });

  it('rejects anything else', () => {
    for (const v of ['Yes', 'host/UP', 'docker/sideways', '', 1, 'constructor', 'toString']) expect(normalizeManage(v)).toBeUndefined();
  });
});
