/**
 * Threat (to availability): a HostManager whose state file is corrupt falls back to `.prev`, an
 * older copy in which a healthy agent was still starting; applying that copy's start deadline
 * killed the agent 30 ms after the HostManager came back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { delay } from '../helpers/wait.js';
import { connect, fakeData, managerMessages, startHostManager, stateIn, waitData, writeHmSite } from '../integration/host-manager/hm-fixtures.js';
import { assertBuilt, isAlive } from '../integration/supervisor/process-fixtures.js';

let router: TestRouter;

beforeAll(async () => {
  assertBuilt();
  router = await startTestRouter();
});

describe('state file fallback', () => {
  it('keeps a beating agent re-adopted from a stale .prev where it was still starting', async () => {
    const site = writeHmSite(router, [fakeData('fd1')]);
    const first = await startHostManager(site);
    let client = await connect(site);
    let d = await waitData(client, (x) => stateIn(x, 'fd1') === 'RUNNING', 'fd1 running');
    const pid = d.services['fd1']!.pid!;
    first.kill('SIGKILL');
    await first.exited;

    // .prev: the same state as when fd1 had just been started, long ago; the main file corrupt
    const main = join(site.stateDir, 'sup-00.json');
    const state = JSON.parse(readFileSync(main, 'utf8')) as { children: Record<string, { current: Record<string, unknown> }> };
    const fd1 = state.children['fd1']!.current;
    fd1['state'] = 'STARTING';
    fd1['startedAtMs'] = Date.now() - 10 * 60_000;
    writeFileSync(`${main}.prev`, JSON.stringify(state));
    writeFileSync(main, '{"schema": 1, "supervisor": {"pid": ');

    await startHostManager(site);
    client = await connect(site);
    d = await waitData(client, (x) => stateIn(x, 'fd1') === 'RUNNING', 'fd1 re-adopted and running');
    expect(d.services['fd1']).toMatchObject({ pid, adopted: true, restarts: 0 });
    // the fallback was used and said so
    expect((d.supervisor['problems'] as string[]).some((m) => m.startsWith(`corrupt state file ${main}`) && m.includes('moved aside'))).toBe(true);
    // a few poll rounds later it is still the same, healthy process
    await delay(1500);
    d = await waitData(client, (x) => stateIn(x, 'fd1') === 'RUNNING', 'fd1 still running');
    expect(d.services['fd1']).toMatchObject({ pid, restarts: 0 });
    expect(isAlive(pid)).toBe(true);
    expect((await managerMessages(client)).some((m) => m.includes('start timeout'))).toBe(false);
  });
});
