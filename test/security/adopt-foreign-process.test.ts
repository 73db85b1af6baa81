/**
 * Threat: any caller asks a HostManager to `open` (adopt) a process that is not one of its agents
 * — an unrelated service, its own parent, init — and then `kill`s it. Only processes that are
 * provably agents of the site (or descend from the HostManager) may be adopted unless the
 * operator enabled exec. Every process this test adopts or refuses is one it started itself;
 * refusing pid 1 and ancestors is checked on the pure rule (test/unit/supervisor/adoption-rule).
 */
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { waitFor } from '../helpers/wait.js';
import { connect, fakeData, managerData, messagesOf, startHostManager, task, writeHmSite } from '../integration/host-manager/hm-fixtures.js';
import { assertBuilt, isAlive } from '../integration/supervisor/process-fixtures.js';
import { registerCleanup } from '../helpers/router.js';

let router: TestRouter;

beforeAll(async () => {
  assertBuilt();
  router = await startTestRouter();
});

/** A process of the test's own whose command line reads `<argv...>` after `node -e <idle loop>`. */
function startOwnProcess(...argv: string[]): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...argv], { detached: true, stdio: 'ignore' });
  const pid = child.pid!;
  registerCleanup(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return pid;
}

describe('HostManager open: adopts only what is its own', () => {
  it('refuses an unrelated process and an agent the site does not list, and leaves them alone', async () => {
    const site = writeHmSite(router, [fakeData('fake-manual', { manage: 'ignore' })]);
    await startHostManager(site);
    const client = await connect(site);
    const unrelated = startOwnProcess('some-service', '--port', '9000');
    const ghost = startOwnProcess('ocs', 'agent', '--site-file', site.file, '--instance-id', 'ghost');
    await waitFor(() => isAlive(unrelated) && isAlive(ghost));

    const refused = await task(client, 'open', { pid: unrelated });
    expect(refused.session).toMatchObject({ success: false });
    expect(messagesOf(refused).join('\n')).toContain(
      `open refused: pid ${unrelated} is not an agent instance of the site file (\`ocs agent ... --instance-id <id>\`) and does not descend from this supervisor; adopting other processes needs exec enabled (--allow-exec)`,
    );
    const unlisted = await task(client, 'open', { pid: ghost });
    expect(unlisted.session).toMatchObject({ success: false });
    expect(messagesOf(unlisted).join('\n')).toContain(`pid ${ghost} is an agent instance 'ghost' that the site file does not list`);
    // nothing was adopted, so there is nothing to signal
    const killed = await task(client, 'kill', { ids: `pid-${unrelated}` });
    expect(killed.session).toMatchObject({ success: false });
    const data = await managerData(client);
    expect(Object.keys(data.services)).not.toContain(`pid-${unrelated}`);
    expect(Object.keys(data.services)).not.toContain(`pid-${ghost}`);
    expect(isAlive(unrelated) && isAlive(ghost)).toBe(true);
  });

  it('adopts an agent instance of the site file started by hand, and can then signal it', async () => {
    const site = writeHmSite(router, [fakeData('fake-manual', { manage: 'ignore' })]);
    await startHostManager(site);
    const client = await connect(site);
    const agent = startOwnProcess('ocs', 'agent', '--site-file', site.file, '--instance-id', 'fake-manual');
    await waitFor(() => isAlive(agent));
    const opened = await task(client, 'open', { pid: agent, id: 'manual' });
    expect(opened.session).toMatchObject({ success: true });
    expect(messagesOf(opened).join('\n')).toContain(`adopted pid ${agent} as 'manual' (agent instance 'fake-manual' of the site file)`);
    const killed = await task(client, 'kill', { ids: 'manual' });
    expect(killed.session).toMatchObject({ success: true });
    await waitFor(() => !isAlive(agent), { timeoutMs: 5000, what: 'the adopted agent killed' });
  });

  it('adopts any process of its own user with --allow-exec, as the operator enabled', async () => {
    const site = writeHmSite(router, [], { hmArgs: ['--allow-exec'] });
    await startHostManager(site);
    const client = await connect(site);
    const other = startOwnProcess('some-service');
    await waitFor(() => isAlive(other));
    const opened = await task(client, 'open', { pid: other });
    expect(opened.session).toMatchObject({ success: true });
    expect(messagesOf(opened).join('\n')).toContain('(exec enabled)');
  });
});
