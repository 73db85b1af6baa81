import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OpCode } from '../../../lib/ops/op-codes.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';
import { assertBuilt, childCmd } from '../supervisor/process-fixtures.js';
import { connect, managerMessages, messagesOf, startHostManager, stateIn, task, waitData, writeHmSite } from './hm-fixtures.js';

let router: TestRouter;

beforeAll(async () => {
  assertBuilt();
  router = await startTestRouter();
});

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('HostManager agent: created commands (--allow-exec, real processes)', () => {
  it('runs a crash loop through the backoff sequence into CRASHED; the manager is DEGRADED and shows the stderr tail', async () => {
    const site = writeHmSite(router, [], { hmArgs: ['--allow-exec'] });
    await startHostManager(site);
    const client = await connect(site);
    const created = await task(client, 'create', {
      id: 'crasher',
      cmd: childCmd('--stderr', 'boom: no calibration file', '--exit-code', 3, '--after-ms', 20),
      // Every run ends while STARTING, however slowly node starts: min_uptime_s is far above a run's life.
      restart: { backoff_initial_s: 0.2, backoff_factor: 2, backoff_jitter: 0, max_restarts: 3, min_uptime_s: 30 },
    });
    expect(created.session).toMatchObject({ success: true });
    expect(messagesOf(created)).toContain('created; starting');
    const d = await waitData(client, (x) => stateIn(x, 'crasher') === 'CRASHED', 'crashed');
    expect(d.services['crasher']).toMatchObject({ attempt: 4, restarts: 3, last_exit: { exit: 3, classification: 'failure' } });
    expect(d.child_states.find((c) => c.instance_id === 'crasher')).toMatchObject({ next_action: 'down', target_state: 'up' });
    const messages = await managerMessages(client);
    const backoffs = messages.filter((m) => m.startsWith('crasher: STARTING -> BACKOFF'));
    expect(backoffs.map((m) => /restart (\d) in (\d+) ms/.exec(m)?.slice(1))).toEqual([
      ['1', '200'],
      ['2', '400'],
      ['3', '800'],
    ]);
    expect(messages.some((m) => m.startsWith('crasher: STARTING -> CRASHED') && m.includes('budget 3 spent'))).toBe(true);
    expect(messages.some((m) => m.startsWith('crasher: child.exited') && m.includes('stderr (last 1 lines):\nboom: no calibration file'))).toBe(true);
    const manager = await client.op('manager').status();
    expect(manager.session).toMatchObject({ op_code: OpCode.DEGRADED, degraded: true });

    const reset = await task(client, 'reset', { ids: 'crasher' });
    expect(reset.session).toMatchObject({ success: true, data: { results: [{ instance_id: 'crasher', state: 'STARTING' }] } });
  });

  it('runs a cron schedule on its slots, not at creation, and logs the runs', async () => {
    const site = writeHmSite(router, [], { hmArgs: ['--allow-exec'] });
    await startHostManager(site);
    const client = await connect(site);
    const startFile = join(site.stateDir, 'cron-starts.txt');
    const created = await task(client, 'create', {
      id: 'tick',
      cmd: childCmd('--start-file', startFile, '--exit-code', 0, '--after-ms', 10),
      restart: { mode: 'never' },
      cron: '*/2 * * * * *',
    });
    expect(created.session).toMatchObject({ success: true, data: { results: [{ instance_id: 'tick', state: 'PENDING' }] } });
    await waitFor(() => lines(startFile).length >= 2, { timeoutMs: 15_000, what: 'two cron runs' });
    const d = await waitData(client, (x) => x.services['tick']?.attempt !== undefined && x.services['tick'].attempt >= 2, 'two attempts');
    expect(d.services['tick']).toMatchObject({ restarts: 0 });
    const schedule = (d.services['tick'] as unknown as { schedule: { kind: string; cron: string; next_fire: number } }).schedule;
    expect(schedule).toMatchObject({ kind: 'cron', cron: '*/2 * * * * *' });
    const logs = await task(client, 'logs', { id: 'tick', stream: 'both', lines: 10 });
    expect(logs.session).toMatchObject({ success: true, data: { id: 'tick', stdout: [], stderr: [] } });

    const cleared = await task(client, 'schedule', { id: 'tick', clear: true });
    expect(cleared.session).toMatchObject({ success: true });
    const both = await task(client, 'schedule', { id: 'tick', cron: '* * * * *', delay_s: 1 });
    expect(both.session).toMatchObject({ success: false });
    expect(messagesOf(both)).toContain('schedule refused: give only one of start_at, delay_s, cron (got delay_s, cron)');
  });
});
