import { describe, expect, it } from 'vitest';
import { childRows, memoryText, orchestratorView } from '../../../lib/console/host-children.js';

describe('childRows', () => {
  it("joins child_states with the supervisor's services: state, pid, restarts, uptime", () => {
    const data = {
      child_states: [
        { instance_id: 'registry', agent_class: 'RegistryAgent', next_action: 'up', target_state: 'up', stability: 1, operable: true, restart_required: false, state: 'RUNNING' },
        { instance_id: 'fake-data1', agent_class: 'FakeDataAgent', next_action: 'down', target_state: 'down', stability: 1, operable: true, restart_required: false, state: 'STOPPED' },
      ],
      services: { registry: { state: 'RUNNING', pid: 123, restarts: 2, uptime_s: 61.5, target: 'up', reason: null }, 'fake-data1': { state: 'STOPPED', pid: null, restarts: 0, uptime_s: null, target: 'down', reason: 'stop requested' } },
    };
    expect(childRows(data)).toEqual({
      ok: true,
      problems: [],
      rows: [
        { instanceId: 'fake-data1', agentClass: 'FakeDataAgent', state: 'STOPPED', target: 'down', pid: null, restarts: 0, uptimeS: null, reason: 'stop requested', rssBytes: null, cpuPercent: null, note: null },
        { instanceId: 'registry', agentClass: 'RegistryAgent', state: 'RUNNING', target: 'up', pid: 123, restarts: 2, uptimeS: 61.5, reason: null, rssBytes: null, cpuPercent: null, note: null },
      ],
    });
  });

  it("reads an OCS HostManager's child_states alone (next_action as the state)", () => {
    const result = childRows({ child_states: [{ instance_id: 'x', agent_class: 'A', next_action: 'up', target_state: 'up', stability: 1 }] });
    expect(result).toMatchObject({ ok: true, rows: [{ instanceId: 'x', state: 'up', target: 'up', pid: null, restarts: null }] });
  });

  it("shows the supervisor's memory and CPU of each child, a limit breach and what a pending child waits for", () => {
    const entry = (id: string, extra: Record<string, unknown>) => ({ instance_id: id, agent_class: 'A', next_action: 'up', target_state: 'up', state: 'RUNNING', ...extra });
    const result = childRows({
      child_states: [
        entry('a', { rss_bytes: 64 * 1024 * 1024, cpu_percent: 12.5, limit_breach: null, waiting_for: [] }),
        entry('b', { state: 'BACKOFF', rss_bytes: null, cpu_percent: null, limit_breach: 'memory-max exceeded: 612 MB > 512 MB', waiting_for: [] }),
        entry('c', { state: 'PENDING', rss_bytes: null, cpu_percent: null, limit_breach: null, waiting_for: ['db', 'cache'] }),
      ],
    });
    expect(result).toMatchObject({
      ok: true,
      rows: [
        { instanceId: 'a', rssBytes: 64 * 1024 * 1024, cpuPercent: 12.5, note: null },
        { instanceId: 'b', state: 'BACKOFF', note: 'memory-max exceeded: 612 MB > 512 MB' },
        { instanceId: 'c', state: 'PENDING', note: 'waiting for db, cache' },
      ],
    });
    expect([memoryText(64 * 1024 * 1024), memoryText(1.5 * 1024 ** 3), memoryText(null)]).toEqual(['64 MB', '1.5 GB', '–']);
  });

  it('names entries it cannot read and refuses data without child_states', () => {
    expect(childRows({ child_states: [{ agent_class: 'A' }] })).toMatchObject({ ok: true, rows: [], problems: [expect.stringMatching(/^child_states\[0\] refused/)] });
    expect(childRows({ children: [] })).toEqual({ ok: false, error: 'manager session data has no child_states list' });
  });
});

describe('orchestratorView', () => {
  it('lists the cluster services with intent, placement and holders', () => {
    const data = {
      node: 'h1',
      frozen: false,
      services: {
        db: { global_expect: 'started', frozen: false, placement: 'spread', nodes: ['h1', 'h2'], ranking: ['h2', 'h1'], holders: [{ instance_id: 'db-1', node: 'h2', epoch: 3, state: 'running' }] },
        web: 'junk',
      },
    };
    expect(orchestratorView(data)).toEqual({
      ok: true,
      view: {
        node: 'h1',
        isNodeFrozen: false,
        services: [
          { service: 'db', globalExpect: 'started', isFrozen: false, placement: 'spread', nodes: ['h2', 'h1'], holders: ['db-1@h2 (running)'] },
          { service: 'web', globalExpect: '(unreadable)', isFrozen: false, placement: '', nodes: [], holders: [] },
        ],
      },
    });
    expect(orchestratorView(null)).toEqual({ ok: false, error: 'orchestrator session data has no node and services' });
  });
});
