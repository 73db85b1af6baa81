import { describe, expect, it } from 'vitest';
import { ProcIdentity, isDeadState, isStoppedState, parseProcStat } from '../../../lib/supervisor/proc-identity.js';

const STAT = '4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 200 0 0 0 3 1 0 0 20 0 1 0 987654 12345678 900 18446744073709551615';

describe('proc-identity', () => {
  it('parses /proc/<pid>/stat after the last parenthesis', () => {
    expect(parseProcStat(STAT)).toEqual({ pid: 4242, comm: 'my (odd) proc', state: 'S', ppid: 1, pgrp: 4242, session: 4242, startTicks: 987654 });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('treats zombies as dead and T as stopped', () => {
    expect(isDeadState('Z')).toBe(true);
    expect(isDeadState('S')).toBe(false);
    expect(isStoppedState('T')).toBe(true);
    expect(isStoppedState('R')).toBe(false);
  });

  it('probes its own process and detects a start-time mismatch', () => {
    const proc = new ProcIdentity();
    const self = proc.readStat(process.pid);
    expect(self?.pid).toBe(process.pid);
    expect(proc.probe(process.pid, self?.startTicks ?? null).status).toBe('alive');
    expect(proc.probe(process.pid, (self?.startTicks ?? 0) + 1).status).toBe('reused');
    expect(proc.probe(2 ** 22 + 12345, null).status).toBe('gone');
    expect(proc.bootId()).toMatch(/^[0-9a-f-]{36}$/);
  });
});
