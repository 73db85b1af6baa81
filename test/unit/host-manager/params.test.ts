import { describe, expect, it } from 'vitest';
import { fieldPrefix, formatHistory } from '../../../agents/host-manager/manager-views.js';
import { HostManagerArgsSchema } from '../../../agents/host-manager/config.js';
import { CreateOpParamsSchema, createParamsOf, scheduleOf, scheduleProblem } from '../../../agents/host-manager/params.js';
import { validateParams } from '../../../lib/ops/params.js';

describe('HostManager op parameters', () => {
  it('turns create params (snake_case, seconds) into the core verb params (camelCase, ms)', () => {
    const p = validateParams(CreateOpParamsSchema, {
      id: 'job',
      cmd: ['/bin/sleep', '5'],
      restart: { mode: 'on-failure', backoff_initial_s: 0.5, backoff_max_s: 4, max_restarts: 3, window_s: null },
      stop_timeout_s: 2,
      cron: '*/5 * * * *',
      run_at_create: true,
    });
    expect(createParamsOf(p)).toEqual({
      id: 'job',
      cmd: ['/bin/sleep', '5'],
      createStopped: false,
      restart: { mode: 'on-failure', backoffInitialMs: 500, backoffCapMs: 4000, maxRestarts: 3, windowMs: null },
      stopTimeoutMs: 2000,
      schedule: { cron: '*/5 * * * *', runAtCreate: true },
    });
  });

  it('gives OCS param errors for bad types and stray keys', () => {
    expect(() => validateParams(CreateOpParamsSchema, { id: 'job', cmd: 'ls' })).toThrow("Param 'cmd'=ls is not of required type (<class 'list'>)");
    expect(() => validateParams(CreateOpParamsSchema, { id: 'job', cmd: ['ls'], colour: 'red' })).toThrow("params included unexpected values: ['colour']");
  });

  it('asks for exactly one of start_at, delay_s, cron', () => {
    expect(scheduleOf({})).toBeNull();
    expect(scheduleOf({ delay_s: 1.5 })).toEqual({ delayMs: 1500 });
    expect(scheduleOf({ start_at: 1700000000 })).toEqual({ atMs: 1700000000000 });
    expect(scheduleProblem({ delay_s: 1, cron: '* * * * *' })).toBe('give only one of start_at, delay_s, cron (got delay_s, cron)');
    expect(scheduleProblem({ cron: '* * * * *' })).toBeNull();
  });

  it('parses the HostManager arguments with their defaults', () => {
    expect(HostManagerArgsSchema.parse({})).toEqual({
      state_dir: 'state',
      instance_index: 0,
      allow_exec: false,
      initial_state: 'keep',
      registry_id: 'registry',
      on_exit: 'stop',
      poll_interval: 1,
      resource_interval: 1,
      cpu_window: 5,
      cgroups: 'auto',
      feed_interval: 5,
      agent_timeout: 5,
      op_privs: {},
    });
    expect(HostManagerArgsSchema.parse({ op_privs: 'kill=4, create=4' }).op_privs).toEqual({ kill: 4, create: 4 });
    expect(HostManagerArgsSchema.safeParse({ op_privs: 'kill=9' }).success).toBe(false);
    expect(HostManagerArgsSchema.parse({ allow_exec: true, instance_index: '7', initial_state: 'up' })).toMatchObject({ allow_exec: true, instance_index: 7, initial_state: 'up' });
    expect(HostManagerArgsSchema.safeParse({ instance_index: '100' }).success).toBe(false);
  });
});

describe('HostManager feed and messages', () => {
  it('names feed fields after the instance id with non-field characters as underscores', () => {
    expect(fieldPrefix('fake-data1')).toBe('fake_data1');
    expect(fieldPrefix('job.2')).toBe('job_2');
    expect(fieldPrefix('7up')).toBe('c_7up');
  });

  it('posts a failure exit with its stderr tail', () => {
    const text = formatHistory({
      seq: 4,
      atMs: 0,
      kind: 'event',
      id: 'a',
      event: 'child.exited',
      message: 'exited with code 1: restart 1 in 1000 ms',
      data: { stderr_tail: ['Traceback', 'boom'] },
    });
    expect(text).toBe('a: child.exited: exited with code 1: restart 1 in 1000 ms\nstderr (last 2 lines):\nTraceback\nboom');
    expect(formatHistory({ seq: 5, atMs: 0, kind: 'transition', id: 'a', from: 'RUNNING', to: 'BACKOFF', cause: 'exit', pid: null })).toBe('a: RUNNING -> BACKOFF (exit)');
  });
});
