import { beforeAll, describe, expect, it } from 'vitest';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';
import { writeSiteFile, type TestSite } from '../../helpers/site-file.js';
import { startAgent } from '../../helpers/agent-process.js';
import { runOcsFlow } from '../../helpers/python-ocs.js';

/**
 * OCS wire compatibility, checked by Debian's python3-autobahn behaving as OCS's own clients:
 * the exact nesting and keys of replies (§1.4), get_api (§1.5), sessions (§2.3), heartbeats
 * (§3.1) and recorded feeds (§4.3), over WAMP and over the HTTP /call bridge.
 */
describe('FakeDataAgent on the wire, seen from python3-autobahn', () => {
  let router: TestRouter;
  let site: TestSite;
  let target: { url: string; httpUrl: string; address: string };

  beforeAll(async () => {
    router = await startTestRouter();
    site = writeSiteFile({
      url: router.url,
      httpUrl: router.httpUrl,
      hosts: {
        localhost: {
          'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'fake-data1', arguments: ['--mode', 'acq', '--num-channels', 3, '--sample-rate', 20] }],
        },
      },
    });
    await startAgent(site.file, 'fake-data1');
    target = { url: router.url, httpUrl: router.httpUrl, address: `${site.addressRoot}.fake-data1` };
  });

  it('answers get_api, start, wait and status with OCS shapes over WAMP', async () => {
    const run = await runOcsFlow('ops-flow', target);
    expect(run.failure).toBeUndefined();
    expect(run.step('get_api')).toMatchObject({
      agent_class: 'FakeDataAgent',
      tasks: ['delay_task', 'set_heartbeat'],
      processes: ['acq', 'count'],
      feeds: ['false_temperatures', 'heartbeat'],
    });
    expect(run.step('start')).toMatchObject({ status: 0, message: 'Started task "delay_task".', session_status: 'starting' });
    expect(run.step('wait')).toMatchObject({ status: 0, message: 'Operation "delay_task" is currently not running (SUCCEEDED).', success: true, op_code: 5 });
    // the task reports the time it measured: at least the 0.2 s asked for, more on a busy machine
    const status = run.step('status');
    expect(status).toMatchObject({ status: 0, message: 'Session active.', session_status: 'done', last_messages: [expect.stringMatching(/^Exited after \d+\.\d seconds$/), 'Status is now "done".'] });
    const exitedAfterS = Number(/^Exited after (\d+\.\d) seconds$/.exec((status['last_messages'] as string[])[0]!)![1]);
    expect(exitedAfterS).toBeGreaterThanOrEqual(0.2);
    expect(run.step('wait-done')).toMatchObject({ status: 0 });
  });

  it('answers the same flow through the HTTP /call bridge as client_http expects', async () => {
    const run = await runOcsFlow('http-flow', target);
    expect(run.failure).toBeUndefined();
    expect(run.step('http-start')).toMatchObject({ status: 0, message: 'Started task "delay_task".' });
    expect(run.step('http-wait')).toMatchObject({ status: 0, success: true });
  });

  it('rejects bad params before any session exists, with OCS texts', async () => {
    const run = await runOcsFlow('param-error', target);
    expect(run.failure).toBeUndefined();
    expect(run.step('param-error')['reply']).toEqual([-1, "Param 'delay'=abc is not of required type (<class 'float'>)", {}]);
    expect(run.step('stray')['reply']).toEqual([-1, "params included unexpected values: ['bogus']", {}]);
    expect(run.step('unknown-op')['reply']).toEqual([-1, 'No task or process called "no_such_op"', {}]);
  });

  it('answers the older management queries', async () => {
    const run = await runOcsFlow('old-queries', target);
    expect(run.failure).toBeUndefined();
    expect(run.step('get_agent_class')).toMatchObject({ reply_type: 'str', reply: 'FakeDataAgent' });
    expect(run.step('get_tasks')['reply_type']).toBe('list');
    expect((run.step('get_tasks')['reply'] as unknown[][]).map((t) => t[0])).toEqual(['delay_task', 'set_heartbeat']);
    expect((run.step('get_processes')['reply'] as unknown[][]).map((t) => t[0])).toEqual(['acq', 'count']);
    expect((run.step('get_feeds')['reply'] as unknown[][]).map((t) => t[0])).toEqual(['false_temperatures', 'heartbeat']);
    expect(run.step('nonsense')).toMatchObject({ reply_type: 'NoneType', reply: null });
  });

  it('beats with [op_codes, feed] as one argument, heard through the wildcard', async () => {
    const run = await runOcsFlow('heartbeat', target);
    expect(run.failure).toBeUndefined();
    const beat = run.step('heartbeat');
    expect(beat['topic']).toBe(`${target.address}.feeds.heartbeat`);
    expect(beat['op_codes']).toEqual({ acq: 3, count: 3, set_heartbeat: 1, delay_task: expect.any(Number) });
    expect(beat['feed']).toMatchObject({ agent_address: target.address, agg_params: {}, feed_name: 'heartbeat', record: false, agent_class: 'FakeDataAgent' });
  });

  it('publishes recorded temperatures whose values and timestamps are Python floats', async () => {
    const run = await runOcsFlow('feed-floats', target);
    expect(run.failure).toBeUndefined();
    expect(run.step('feed')).toMatchObject({ record: true, agg_params: { frame_length: 60 }, value_types: ['float'], blocks: ['temps'] });
  });

  it('keeps floats floats in session data: a delay of 1.0 comes back 1.0, times and values as floats', async () => {
    const run = await runOcsFlow('data-floats', target);
    expect(run.failure).toBeUndefined();
    expect(run.step('data-floats')).toEqual({ step: 'data-floats', requested_delay: 'float', requested_delay_value: 1, delay_so_far: 'float', acq_timestamp: 'float', acq_fields: ['float'] });
  });
});
