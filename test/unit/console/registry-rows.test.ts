import { describe, expect, it } from 'vitest';
import type { ConsoleAgent } from '../../../lib/console/agent-directory.js';
import { ageText, registryRows } from '../../../lib/console/registry-rows.js';

function agent(id: string, lastUpdated: number, expired: boolean, restarts = 0, cls = 'C'): ConsoleAgent {
  return {
    address: `r.${id}`,
    instanceId: id,
    agentClass: cls,
    feedSessionId: null,
    lastBeatAtMs: null,
    opCodes: {},
    api: null,
    apiError: null,
    registry: { expired, time_expired: expired ? lastUpdated + 5 : null, last_updated: lastUpdated, op_codes: { acq: 3 }, agent_class: cls, agent_address: `r.${id}` },
    restarts,
    sessions: {},
    problems: [],
    isExpired: expired,
    revision: 0,
  };
}

describe('registryRows', () => {
  const agents = [agent('b', 990, false, 1, 'Z'), agent('a', 900, true, 0, 'Y'), agent('c', 995, false, 3, 'X'), { ...agent('unknown', 0, false), registry: null }];

  it('lists only agents with a Registry record, with the age of their last sighting', () => {
    const rows = registryRows(agents, 1_000_000, { column: 'address', isDescending: false });
    expect(rows.map((r) => [r.instanceId, r.lastSeenAgeS, r.isExpired])).toEqual([
      ['a', 100, true],
      ['b', 10, false],
      ['c', 5, false],
    ]);
  });

  it('sorts by any column, both ways', () => {
    const ids = (column: Parameters<typeof registryRows>[2]['column'], isDescending = false) => registryRows(agents, 1_000_000, { column, isDescending }).map((r) => r.instanceId);
    expect(ids('address', true)).toEqual(['c', 'b', 'a']);
    expect(ids('agent_class')).toEqual(['c', 'a', 'b']);
    expect(ids('status')).toEqual(['b', 'c', 'a']);
    expect(ids('last_seen')).toEqual(['c', 'b', 'a']);
    expect(ids('restarts', true)).toEqual(['c', 'b', 'a']);
  });
});

describe('ageText', () => {
  it('says seconds, minutes or hours', () => {
    expect([ageText(3.9), ageText(250), ageText(7500)]).toEqual(['3 s', '4 min 10 s', '2 h 5 min']);
  });
});
