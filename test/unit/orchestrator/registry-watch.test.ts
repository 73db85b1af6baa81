import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import { DEFAULT_ORCHESTRATOR_OPTIONS } from '../../../lib/orchestrator/orchestrator-types.js';
import { REGISTRY_UNAVAILABLE, type RegistryView } from '../../../lib/orchestrator/registry-view.js';
import { RegistryWatch } from '../../../lib/orchestrator/registry-watch.js';

const T0 = 1_700_000_000_000;
const HOLD = DEFAULT_ORCHESTRATOR_OPTIONS.startupHoldMs;
const HM = 'obs.hm-h1';

/** A registry up since `startedAtS` (registry clock), listing the HostManager with `manager` = `code`. */
function view(startedAtS: number, nowS: number, code = 3, expired = false): RegistryView {
  return { isAvailable: true, registryStartedAtS: startedAtS, registryTimeS: nowS, agents: { [HM]: { expired, op_codes: { manager: code }, last_updated: nowS } } };
}

function watch(): RegistryWatch {
  return new RegistryWatch(silentLogger(), DEFAULT_ORCHESTRATOR_OPTIONS, T0);
}

describe('RegistryWatch', () => {
  it('is blind while starting and without a view, then trusts a warm registry', () => {
    const w = watch();
    expect(w.blindReason(T0 + 1000)).toBe('starting');
    expect(w.blindReason(T0 + HOLD)).toBe('no registry view');
    w.accept(view(1000, 5000), T0 + HOLD);
    expect(w.blindReason(T0 + HOLD)).toBeNull();
    expect(w.listsManaging(HM, 'manager')).toBe(true);
  });

  it('waits for a young registry to warm up, on its own clock or on ours, whichever says older', () => {
    const w = watch();
    // Up for 2 s on its own clock: not trusted for the warm-up period as seen from here.
    w.accept(view(1000, 1002), T0 + HOLD);
    expect(w.blindReason(T0 + HOLD)).toBe('registry warming up');
    w.accept(view(1000, 1003), T0 + HOLD + DEFAULT_ORCHESTRATOR_OPTIONS.registryWarmupMs - 1);
    expect(w.blindReason(T0 + HOLD + DEFAULT_ORCHESTRATOR_OPTIONS.registryWarmupMs - 1)).toBe('registry warming up');
    expect(w.blindReason(T0 + HOLD + DEFAULT_ORCHESTRATOR_OPTIONS.registryWarmupMs)).toBeNull();
    // A restart (new start time) is a new warm-up.
    const later = T0 + HOLD + 20_000;
    w.accept(view(2000, 2001), later);
    expect(w.blindReason(later)).toBe('registry warming up');
  });

  it('holds through failed polls for the tolerance, then is blind; an answer ends both', () => {
    const w = watch();
    const t = T0 + HOLD;
    w.accept(view(1000, 5000), t);
    w.accept(REGISTRY_UNAVAILABLE, t + 1000);
    expect(w.isFailing).toBe(true);
    // The last good table stays: liveness is judged on it while holding.
    expect(w.listsManaging(HM, 'manager')).toBe(true);
    expect(w.blindReason(t + 1000 + DEFAULT_ORCHESTRATOR_OPTIONS.registryToleranceMs - 1)).toBeNull();
    expect(w.blindReason(t + 1000 + DEFAULT_ORCHESTRATOR_OPTIONS.registryToleranceMs)).toBe('registry unavailable');
    w.accept(view(1000, 5010), t + 7000);
    expect(w.isFailing).toBe(false);
    expect(w.blindReason(t + 7000)).toBeNull();
    expect(w.describe(null)).toMatchObject({ healthy: true, blind: false, failing_since: null, agents_seen: 1 });
  });

  it('calls a view older than the staleness limit stale', () => {
    const w = watch();
    w.accept(view(1000, 5000), T0 + HOLD);
    expect(w.blindReason(T0 + HOLD + DEFAULT_ORCHESTRATOR_OPTIONS.placementStaleMs + 1)).toBe('registry view stale');
  });

  it('lists a HostManager as managing only when not expired and RUNNING or DEGRADED', () => {
    const w = watch();
    for (const [code, expired, expected] of [
      [3, false, true],
      [8, false, true],
      [5, false, false],
      [3, true, false],
    ] as const) {
      w.accept(view(1000, 5000, code, expired), T0 + HOLD);
      expect(w.listsManaging(HM, 'manager')).toBe(expected);
    }
    expect(w.listsManaging('obs.hm-other', 'manager')).toBe(false);
  });
});
