import { describe, expect, it } from 'vitest';
import { planEntry } from '../../../lib/supervisor/supervised-entry.js';

describe('supervised-entry', () => {
  it('maps a host entry and its supervise block onto a child spec', () => {
    const plan = planEntry({
      instanceId: 'fake-data1',
      agentClass: 'FakeDataAgent',
      manage: 'host/down',
      command: ['node', 'ocs.js', 'agent', '--instance-id', 'fake-data1'],
      env: { PATH: '/bin' },
      supervise: { restart: 'on-failure', minUptimeS: 2, maxFailures: null, failureWindowS: 60, backoffInitialS: 0.5, backoffMaxS: 30, stopSignal: 'SIGTERM', stopTimeoutS: 4 },
    });
    expect(plan?.target).toBe('down');
    expect(plan?.spec).toMatchObject({
      id: 'fake-data1',
      source: 'config',
      agentClass: 'FakeDataAgent',
      ready: 'heartbeat',
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 4000,
      hungRestartAfterMs: 10_000,
      restart: { mode: 'on-failure', minUptimeMs: 2000, maxRestarts: null, windowMs: 60_000, backoffInitialMs: 500, backoffCapMs: 30_000, stopExitCodes: [78] },
    });
  });

  it('runs host and on-demand entries only', () => {
    const base = { instanceId: 'x', command: ['a'] };
    expect(planEntry({ ...base, manage: 'host/up' })?.target).toBe('up');
    expect(planEntry({ ...base, manage: 'on-demand' })?.target).toBe('down');
    expect(planEntry({ ...base, manage: 'docker/up' })).toBeNull();
    expect(planEntry({ ...base, manage: 'ignore' })).toBeNull();
    expect(planEntry({ ...base, manage: 'host/up', supervise: { restartOnExpired: false } })?.spec.hungRestartAfterMs).toBeNull();
  });
});
