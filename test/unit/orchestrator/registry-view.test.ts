import { describe, expect, it } from 'vitest';
import { REGISTRY_UNAVAILABLE, registryViewFromSession } from '../../../lib/orchestrator/registry-view.js';

const record = (address: string, lastUpdated: number, expired = false) => ({
  expired,
  time_expired: expired ? lastUpdated + 5 : null,
  last_updated: lastUpdated,
  op_codes: { manager: expired ? 7 : 3 },
  agent_class: 'HostManager',
  agent_address: address,
});

describe('registryViewFromSession', () => {
  it("reads the registry's main session", () => {
    const view = registryViewFromSession({
      session_id: 0,
      op_name: 'main',
      status: 'running',
      start_time: 1000.5,
      end_time: null,
      data: { 'obs.hm-h1': record('obs.hm-h1', 1200), 'obs.hm-h2': record('obs.hm-h2', 1100, true), 'obs.junk': { expired: 'no' } },
      messages: [],
    });
    expect(view).toEqual({
      isAvailable: true,
      registryStartedAtS: 1000.5,
      registryTimeS: 1200,
      agents: {
        'obs.hm-h1': { expired: false, op_codes: { manager: 3 }, last_updated: 1200 },
        'obs.hm-h2': { expired: true, op_codes: { manager: 7 }, last_updated: 1100 },
      },
    });
  });

  it('is unavailable when main does not run or the session is not one', () => {
    expect(registryViewFromSession({ status: 'done', start_time: 1, data: {} })).toBe(REGISTRY_UNAVAILABLE);
    expect(registryViewFromSession({})).toBe(REGISTRY_UNAVAILABLE);
    expect(registryViewFromSession(null)).toBe(REGISTRY_UNAVAILABLE);
  });
});
