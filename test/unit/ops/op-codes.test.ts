import { describe, expect, it } from 'vitest';
import { CredLevel, credLevelText, OpCode, opCodeName, ResponseCode, SESSION_STATUSES } from '../../../lib/ops/op-codes.js';

describe('op-codes', () => {
  it('keeps the OCS numbers', () => {
    expect(OpCode).toEqual({ NONE: 1, STARTING: 2, RUNNING: 3, STOPPING: 4, SUCCEEDED: 5, FAILED: 6, EXPIRED: 7, DEGRADED: 8 });
    expect(ResponseCode).toEqual({ OK: 0, ERROR: -1, TIMEOUT: 1 });
    expect(CredLevel).toEqual({ BLOCKED: 0, BASIC: 1, ADVANCED: 2, FULL: 3, SUPERUSER: 4 });
    expect(SESSION_STATUSES).toEqual(['starting', 'running', 'stopping', 'done']);
  });

  it('names op codes and credential levels', () => {
    expect(opCodeName(8)).toBe('DEGRADED');
    expect(opCodeName(7)).toBe('EXPIRED');
    expect(opCodeName(42)).toBe('UNKNOWN');
    expect(credLevelText(2)).toBe('2-ADVANCED');
    expect(credLevelText(0)).toBe('0-BLOCKED');
  });
});
