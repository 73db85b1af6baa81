import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_LOCKED } from '../../../lib/errors.js';
import { spawnOcs } from '../../helpers/agent-process.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';
import { waitFor } from '../../helpers/wait.js';
import { assertBuilt, childCmd, FIXTURE_CHILD, isAlive, killPids, pidsWithEnv } from '../supervisor/process-fixtures.js';
import { connect, fakeData, startHostManager, stateIn, task, waitData, writeHmSite, writeSite } from './hm-fixtures.js';

let router: TestRouter;

beforeAll(async () => {
  assertBuilt();
  router = await startTestRouter();
});

describe('HostManager agent: restarts of the HostManager itself (real processes)', () => {
  it('re-adopts all five agents after a SIGKILL of the HostManager and starts none twice', async () => {
    const ids = ['a1', 'a2', 'a3', 'a4', 'a5'];
    const site = writeHmSite(router, ids.map((id) => fakeData(id)));
    const first = await startHostManager(site);
    let client = await connect(site);
    let d = await waitData(client, (x) => ids.every((id) => stateIn(x, id) === 'RUNNING'), 'five running');
    const pids = ids.map((id) => d.services[id]!.pid!);
    expect(pidsWithEnv(site.stateDir).sort()).toEqual([...pids].sort());

    first.kill('SIGKILL');
    await first.exited;
    for (const pid of pids) expect(isAlive(pid)).toBe(true);

    await startHostManager(site);
    client = await connect(site);
    d = await waitData(client, (x) => ids.every((id) => stateIn(x, id) === 'RUNNING'), 'five re-adopted');
    expect(ids.map((id) => d.services[id]!.pid)).toEqual(pids);
    for (const id of ids) expect(d.services[id]).toMatchObject({ adopted: true, attempt: 1, restarts: 0 });
    expect(pidsWithEnv(site.stateDir).sort()).toEqual([...pids].sort());
    const stopped = await task(client, 'update', { requests: [['all', 'down']] });
    expect(stopped.session).toMatchObject({ success: true });
    await waitData(client, (x) => ids.every((id) => stateIn(x, id) === 'STOPPED'), 'five stopped');
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { what: 're-adopted agents stopped' });
  });

  it('refuses a second HostManager on the same state dir and index (exit 75, not the config error 78), naming the holder; another index runs', async () => {
    const site = writeHmSite(router, [], { hmId: 'hm-a' });
    const other = (id: string, index: number) => ({
      'agent-class': 'HostManager',
      'instance-id': id,
      manage: 'ignore',
      arguments: ['--state-dir', site.stateDir, '--instance-index', index],
    });
    writeSite(site.file, router, site.addressRoot, [
      { 'agent-class': 'HostManager', 'instance-id': 'hm-a', manage: 'ignore', arguments: ['--state-dir', site.stateDir] },
      other('hm-b', 0),
      other('hm-c', 1),
    ]);
    await startHostManager(site, 'hm-a');
    const second = spawnOcs(['agent', '--site-file', site.file, '--site-host', 'localhost', '--instance-id', 'hm-b']);
    expect(await second.exited).toBe(EXIT_LOCKED);
    // 'exit' can come before the last stderr chunk is read: read stderr to its end first.
    const stderr = second.child.stderr!;
    if (!stderr.readableEnded) await new Promise((r) => stderr.once('end', r));
    expect(second.stderr()).toMatch(/^ocs agent: another HostManager \(pid \d+\) holds \S+sup-00\.lock; stop it first or use another instance index$/m);
    await startHostManager(site, 'hm-c');
    const client = await connect(site, 'hm-c');
    const d = await waitData(client, (x) => x.supervisor['index'] === 1, 'index 1 running');
    expect(d.supervisor['state_file']).toBe(join(site.stateDir, 'sup-01.json'));
  });

  it('does not adopt a recorded pid that now belongs to another process, never signals it, and starts the child again', async () => {
    const site = writeHmSite(router, [], { hmArgs: ['--allow-exec'] });
    const first = await startHostManager(site);
    let client = await connect(site);
    const created = await task(client, 'create', { id: 'victim', cmd: childCmd('--graceful'), restart: { min_uptime_s: 0 } });
    expect(created.session).toMatchObject({ success: true });
    const d = await waitData(client, (x) => stateIn(x, 'victim') === 'RUNNING', 'victim running');
    const victimPid = d.services['victim']!.pid!;
    first.kill('SIGKILL');
    await first.exited;
    killPids([victimPid]);
    await waitFor(() => !isAlive(victimPid), { what: 'victim gone' });

    // An unrelated process (no supervisor marker) that the state file will claim is the child.
    const stranger = spawn(process.execPath, [FIXTURE_CHILD], { stdio: 'ignore' });
    const strangerPid = stranger.pid!;
    try {
      const stateFile = join(site.stateDir, 'sup-00.json');
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { children: Record<string, { current: { pid: number; pgid: number } }> };
      state.children['victim']!.current.pid = strangerPid;
      state.children['victim']!.current.pgid = strangerPid;
      writeFileSync(stateFile, JSON.stringify(state));

      await startHostManager(site);
      client = await connect(site);
      const after = await waitData(client, (x) => stateIn(x, 'victim') === 'RUNNING' && x.services['victim']?.pid !== strangerPid, 'victim started again');
      expect(after.services['victim']?.adopted).toBe(false);
      expect(after.services['victim']?.last_exit).toMatchObject({ exit: 'unknown', classification: 'vanished' });
      expect(isAlive(strangerPid)).toBe(true);
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('remove with disown leaves the process running untracked; after a HostManager restart it is listed as an orphan', async () => {
    const site = writeHmSite(router, [], { hmArgs: ['--allow-exec'] });
    const first = await startHostManager(site);
    let client = await connect(site);
    await task(client, 'create', { id: 'job', cmd: childCmd('--graceful'), restart: { min_uptime_s: 0 } });
    let d = await waitData(client, (x) => stateIn(x, 'job') === 'RUNNING', 'job running');
    const pid = d.services['job']!.pid!;
    const removed = await task(client, 'remove', { ids: 'job', running: 'disown' });
    expect(removed.session).toMatchObject({ success: true, data: { results: [{ instance_id: 'job', ok: true }] } });
    d = await waitData(client, (x) => stateIn(x, 'job') === undefined, 'job forgotten');
    expect(isAlive(pid)).toBe(true);

    first.kill('SIGKILL');
    await first.exited;
    await startHostManager(site);
    client = await connect(site);
    d = await waitData(client, (x) => x.orphans[String(pid)] !== undefined, 'orphan listed');
    expect(d.orphans[String(pid)]).toMatchObject({ pid, service_id: 'job' });
    expect(stateIn(d, 'job')).toBeUndefined();
    expect(isAlive(pid)).toBe(true);
  });
});
