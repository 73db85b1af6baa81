import { DEFAULT_REALM } from '../../lib/router/config-defaults.js';
import { spawnOcs } from './agent-process.js';
import { startTestRouter, type TestRouter } from './router.js';

/**
 * Starts `ocs router --port 0` in a process of its own, as deployments run it, and returns it as
 * a TestRouter (killed at the end of the test, or of the file when called from beforeAll). Tests
 * whose timing is part of the contract use it, so that the router's event loop is not shared with
 * the test's own work. With OCS_TEST_ROUTER_URL set, the external router is used instead.
 */
export async function startRouterProcess(): Promise<TestRouter> {
  if (process.env['OCS_TEST_ROUTER_URL']) return startTestRouter();
  const p = spawnOcs(['router', '--port', '0']);
  const line = await p.waitForLog(/^router listening on ws:\/\//, 30_000);
  const url = /(ws:\/\/127\.0\.0\.1:\d+\/ws)/.exec(String(line['raw']))?.[1];
  if (url === undefined) throw new Error(`unexpected listening line: ${String(line['raw'])}`);
  return {
    url,
    httpUrl: url.replace(/^ws/, 'http').replace(/\/ws$/, '/call'),
    realm: DEFAULT_REALM,
    isExternal: false,
    close: async () => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.kill('SIGTERM');
        await p.exited;
      }
    },
  };
}
