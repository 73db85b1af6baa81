import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import { LocalInstances } from '../../../lib/orchestrator/local-instances.js';
import { DEFAULT_ORCHESTRATOR_OPTIONS } from '../../../lib/orchestrator/orchestrator-types.js';

const T0 = 1_700_000_000_000;
const { startTimeoutMs, stopTimeoutMs } = DEFAULT_ORCHESTRATOR_OPTIONS;

function instances(): LocalInstances {
  const local = new LocalInstances(silentLogger(), DEFAULT_ORCHESTRATOR_OPTIONS);
  local.add('agg', 'agg', T0);
  return local;
}

describe('LocalInstances', () => {
  it('claims with the next epoch, starts with a command, and is idle once RUNNING', () => {
    const local = instances();
    local.noteEpoch('agg', 4);
    const inst = local.of('agg');
    local.claim('agg', inst, T0);
    expect([inst.monitor, inst.epoch, local.maxEpoch('agg')]).toEqual(['ready', 5, 5]);
    local.start('agg', inst, T0 + 3000, 'placed here');
    expect(local.takeCommands()).toEqual([{ type: 'start', instanceId: 'agg', service: 'agg', reason: 'placed here' }]);
    expect(local.takeCommands()).toEqual([]);
    local.onLocalState({ agg: 'STARTING' }, T0 + 3100);
    expect(inst.monitor).toBe('starting');
    local.onLocalState({ agg: 'RUNNING' }, T0 + 4000);
    expect(inst.monitor).toBe('idle');
  });

  it('fails a start that does not reach RUNNING within the start timeout, and a stop that does not end', () => {
    const local = instances();
    const inst = local.of('agg');
    local.start('agg', inst, T0, 'placed here');
    local.progress(T0 + startTimeoutMs - 1);
    expect(inst.monitor).toBe('starting');
    local.progress(T0 + startTimeoutMs);
    expect(inst.monitor).toBe('start_failed');
    local.clearBlocks(['agg'], T0 + startTimeoutMs);
    expect(inst.monitor).toBe('idle');
    local.onLocalState({ agg: 'RUNNING' }, T0 + startTimeoutMs);
    local.stop('agg', inst, T0 + startTimeoutMs, 'relocate');
    local.progress(T0 + startTimeoutMs + stopTimeoutMs);
    expect(inst.monitor).toBe('stop_failed');
  });

  it('a CRASHED child blocks the host (start_failed); an operator start takes a fresh epoch', () => {
    const local = instances();
    const inst = local.of('agg');
    local.onLocalState({ agg: null }, T0);
    local.noteEpoch('agg', 7);
    local.onLocalState({ agg: 'RUNNING' }, T0 + 10);
    expect([inst.monitor, inst.epoch]).toEqual(['idle', 8]);
    local.onLocalState({ agg: 'CRASHED' }, T0 + 20);
    expect(inst.monitor).toBe('start_failed');
  });

  it('an operator stop blocks the host until an operator start; shutdown with stop stops what runs', () => {
    const local = instances();
    const inst = local.of('agg');
    local.onLocalState({ agg: 'RUNNING' }, T0);
    local.setOperatorExpect('agg', inst, 'stopped', T0);
    expect(inst.monitor).toBe('local_stopped');
    local.setOperatorExpect('agg', inst, null, T0 + 1);
    expect(inst.monitor).toBe('idle');
    local.leave('stop', T0 + 2);
    expect(local.takeCommands()).toEqual([{ type: 'stop', instanceId: 'agg', service: 'agg', reason: 'host manager shutting down' }]);
  });

  it('persists epochs, claims and blocks, and restores them for declared slots only', () => {
    const local = instances();
    const inst = local.of('agg');
    local.claim('agg', inst, T0);
    local.setMonitor('agg', inst, 'start_failed', T0, 'test');
    const snap = local.snapshot();
    expect(snap).toEqual({ epochs: { agg: 1 }, claims: { agg: { epoch: 1, claim_at_ms: T0 } }, monitors: { agg: 'start_failed' } });
    const fresh = instances();
    fresh.restore({ ...snap, epochs: { ...snap.epochs, gone: 9 } });
    expect(fresh.snapshot()).toEqual(snap);
  });
});
