import { describe, expect, it } from 'vitest';
import { expiryDeadlineMs, isExpiredAt, isNewSession } from '../../../lib/registry/liveness-rule.js';

describe('the liveness rule', () => {
  it('expires an agent exactly agentTimeoutMs after its last heartbeat, not before', () => {
    expect(expiryDeadlineMs(10_000, 5000)).toBe(15_000);
    expect(isExpiredAt(10_000, 14_999, 5000)).toBe(false);
    expect(isExpiredAt(10_000, 15_000, 5000)).toBe(true);
    expect(isExpiredAt(10_000, 60_000, 5000)).toBe(true);
  });

  it('takes another feed session_id for a new process, and an unknown one for none', () => {
    expect(isNewSession('1700000000.1', '1700000100.2')).toBe(true);
    expect(isNewSession('1700000000.1', '1700000000.1')).toBe(false);
    expect(isNewSession(null, '1700000000.1')).toBe(false);
    expect(isNewSession('1700000000.1', null)).toBe(false);
  });
});
