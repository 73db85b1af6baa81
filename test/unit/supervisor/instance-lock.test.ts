import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { InstanceLock } from '../../../lib/supervisor/instance-lock.js';
import { ProcIdentity } from '../../../lib/supervisor/proc-identity.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const proc = new ProcIdentity();
const self = () => ({ pid: process.pid, startTicks: proc.readStat(process.pid)?.startTicks ?? null, bootId: proc.bootId() });

describe('instance-lock', () => {
  it('acquires, refuses a second holder while live, and releases', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-lock-'));
    dirs.push(dir);
    const path = join(dir, 'sup-00.lock');
    const lock = InstanceLock.acquire(path, self(), proc, 1);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(() => InstanceLock.acquire(path, self(), proc, 2)).toThrow(ConfigError);
    // Another live process (pid 1) holding it: refused with its pid.
    const init = proc.readStat(1);
    writeFileSync(path, JSON.stringify({ pid: 1, startTicks: init?.startTicks ?? 0, bootId: proc.bootId(), acquiredAtMs: 0 }));
    expect(() => InstanceLock.acquire(path, self(), proc, 3)).toThrow(/pid 1\)/);
    lock.release(); // not ours any more: left alone
    expect(existsSync(path)).toBe(true);
  });

  it('takes over a lock from a dead process, a reused pid, another boot, or garbage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-lock-'));
    dirs.push(dir);
    const path = join(dir, 'sup-00.lock');
    const init = proc.readStat(1);
    for (const content of [
      JSON.stringify({ pid: 2 ** 22 + 7, startTicks: 1, bootId: proc.bootId(), acquiredAtMs: 0 }),
      JSON.stringify({ pid: 1, startTicks: (init?.startTicks ?? 0) + 1, bootId: proc.bootId(), acquiredAtMs: 0 }),
      JSON.stringify({ pid: 1, startTicks: init?.startTicks ?? 0, bootId: 'another-boot', acquiredAtMs: 0 }),
      'garbage',
    ]) {
      writeFileSync(path, content);
      const lock = InstanceLock.acquire(path, self(), proc, 1);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
      lock.release();
      expect(existsSync(path)).toBe(false);
    }
  });
});
