import { describe, expect, it } from 'vitest';
import { InvalidParamsError } from '../../../lib/errors.js';
import { parseManagementCall, parseOpsCall } from '../../../lib/ops/parse-ops-call.js';

describe('parseOpsCall', () => {
  describe('the call shapes of ocs-protocol §1.6', () => {
    it('reads OCSClient / HTTP start: [start, op, {params}] with {} or {password}', () => {
      expect(parseOpsCall(['start', 'delay_task', { delay: 1 }], {})).toEqual({
        action: 'start',
        opName: 'delay_task',
        params: { delay: 1 },
        timeoutS: null,
        password: null,
      });
      expect(parseOpsCall(['start', 'delay_task', { delay: 1 }], { password: 'pw2' })).toMatchObject({ params: { delay: 1 }, password: 'pw2' });
    });

    it('reads OCSClient wait: [wait, op, {}] with {timeout} (+password)', () => {
      expect(parseOpsCall(['wait', 'delay_task', {}], { timeout: 2.5 })).toEqual({ action: 'wait', opName: 'delay_task', params: {}, timeoutS: 2.5, password: null });
      expect(parseOpsCall(['wait', 'delay_task', {}], { timeout: null, password: 'x' })).toMatchObject({ timeoutS: null, password: 'x' });
    });

    it('reads OCSClient status/stop/abort: [action, op, {}] with {} (+password)', () => {
      for (const action of ['status', 'stop', 'abort']) {
        expect(parseOpsCall([action, 'acq', {}], {})).toEqual({ action, opName: 'acq', params: {}, timeoutS: null, password: null });
        expect(parseOpsCall([action, 'acq', {}], { password: 'p' }).password).toBe('p');
      }
    });

    it('reads ocs-web start/wait: [action, op, {params}] with {password} or nothing', () => {
      expect(parseOpsCall(['start', 'acq', { test_mode: true }], { password: 'pw' })).toMatchObject({ params: { test_mode: true }, password: 'pw' });
      // ocs-web's wait sends the task params positionally and no timeout: an infinite wait.
      expect(parseOpsCall(['wait', 'delay_task', { delay: 3 }], undefined)).toMatchObject({ action: 'wait', params: { delay: 3 }, timeoutS: null });
    });

    it('reads ocs-web stop/abort/status with [] as params', () => {
      for (const action of ['stop', 'abort', 'status']) {
        expect(parseOpsCall([action, 'acq', []], {})).toMatchObject({ action, opName: 'acq', params: [] });
        expect(parseOpsCall([action, 'acq', []], { password: 'pw' })).toMatchObject({ password: 'pw' });
      }
    });

    it('reads Python call_op / OperationClient: [action, op] with {params, timeout}', () => {
      expect(parseOpsCall(['start', 'delay_task'], { params: { delay: 1 }, timeout: null })).toEqual({
        action: 'start',
        opName: 'delay_task',
        params: { delay: 1 },
        timeoutS: null,
        password: null,
      });
      expect(parseOpsCall(['wait', 'delay_task'], { params: null, timeout: 5 })).toMatchObject({ params: null, timeoutS: 5 });
    });

    it('reads everything positionally and everything as kwargs', () => {
      expect(parseOpsCall(['wait', 'op', { a: 1 }, 3, 'pw'], {})).toEqual({ action: 'wait', opName: 'op', params: { a: 1 }, timeoutS: 3, password: 'pw' });
      expect(parseOpsCall([], { action: 'wait', op_name: 'op', params: null, timeout: -1, password: 'pw' })).toEqual({
        action: 'wait',
        opName: 'op',
        params: null,
        timeoutS: -1,
        password: 'pw',
      });
    });

    it('gives null params when none are sent and tolerates null kwargs', () => {
      expect(parseOpsCall(['status', 'acq'], null)).toEqual({ action: 'status', opName: 'acq', params: null, timeoutS: null, password: null });
    });
  });

  it('keeps an unknown action for the No implementation reply', () => {
    expect(parseOpsCall(['launch', 'acq'], {}).action).toBe('launch');
  });

  it('ignores the timeout except for wait, where it must be a number or null', () => {
    expect(parseOpsCall(['start', 'acq', {}, 'soon'], {}).timeoutS).toBeNull();
    expect(() => parseOpsCall(['wait', 'acq', {}, 'soon'], {})).toThrow(InvalidParamsError);
    expect(() => parseOpsCall(['wait', 'acq'], { timeout: Number.NaN })).toThrow("timeout must be a number of seconds or null, got nan");
    expect(parseOpsCall(['wait', 'acq'], { timeout: true }).timeoutS).toBe(1);
  });

  describe('errors Python raises as TypeError', () => {
    it('names an unexpected kwarg', () => {
      const call = (): unknown => parseOpsCall(['start', 'acq'], { parms: {} });
      expect(call).toThrow(InvalidParamsError);
      expect(call).toThrow("_ops_handler() got an unexpected keyword argument 'parms'");
    });

    it('refuses an argument given twice', () => {
      expect(() => parseOpsCall(['start', 'acq', {}], { params: {} })).toThrow("_ops_handler() got multiple values for argument 'params'");
    });

    it('refuses too many positional arguments', () => {
      expect(() => parseOpsCall(['start', 'acq', {}, null, null, 'extra'], {})).toThrow('_ops_handler() takes from 3 to 6 positional arguments but 7 were given');
    });

    it('refuses a missing action or op name', () => {
      expect(() => parseOpsCall([], {})).toThrow("_ops_handler() missing 2 required positional arguments: 'action' and 'op_name'");
      expect(() => parseOpsCall(['start'], {})).toThrow("_ops_handler() missing 1 required positional argument: 'op_name'");
    });

    it('refuses non-string actions, op names and passwords', () => {
      expect(() => parseOpsCall([1, 'acq'], {})).toThrow('action must be a string, got 1');
      expect(() => parseOpsCall(['start', ['acq']], {})).toThrow("op_name must be a string, got ['acq']");
      expect(() => parseOpsCall(['start', 'acq'], { password: 5 })).toThrow(InvalidParamsError);
    });
  });
});

describe('parseManagementCall', () => {
  it('takes q positionally or as a kwarg and ignores other kwargs', () => {
    expect(parseManagementCall(['get_api'], {})).toBe('get_api');
    expect(parseManagementCall([], { q: 'get_tasks' })).toBe('get_tasks');
    expect(parseManagementCall(['get_api'], { verbose: true })).toBe('get_api');
    expect(parseManagementCall([42], undefined)).toBe(42);
  });

  it('raises where Python raises TypeError', () => {
    expect(() => parseManagementCall([], {})).toThrow("_management_handler() missing 1 required positional argument: 'q'");
    expect(() => parseManagementCall(['a', 'b'], {})).toThrow('_management_handler() takes 2 positional arguments but 3 were given');
    expect(() => parseManagementCall(['a'], { q: 'b' })).toThrow("_management_handler() got multiple values for argument 'q'");
  });
});
