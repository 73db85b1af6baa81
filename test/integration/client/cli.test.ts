/**
 * The `ocs` command line as a new user meets it: a router named on the command line wins over the
 * site file for every subcommand (WAMP and HTTP alike), `--help` everywhere, one clear line for a
 * bad option, and `ocs client api` to read an op's parameters.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { spawnOcs, startAgent } from '../../helpers/agent-process.js';
import { startTestRouter, type TestRouter } from '../../helpers/router.js';

let siteRouter: TestRouter;
let namedRouter: TestRouter;
let dir: string;
let siteFile: string;
const ROOT = `cli${Math.random().toString(36).slice(2, 8)}`;

function site(router: TestRouter, file: string): string {
  writeFileSync(
    file,
    stringify({
      hub: { wamp_server: router.url, wamp_http: router.httpUrl, wamp_realm: router.realm, address_root: ROOT },
      hosts: { localhost: { 'agent-instances': [{ 'agent-class': 'FakeDataAgent', 'instance-id': 'faker', arguments: ['--mode', 'idle'] }] } },
    }),
  );
  return file;
}

const lines = (p: { records: Array<Record<string, unknown>> }) => p.records.map((r) => String(r['raw'] ?? JSON.stringify(r))).join('\n');

beforeAll(async () => {
  siteRouter = await startTestRouter({});
  namedRouter = await startTestRouter({});
  dir = mkdtempSync(join(tmpdir(), 'ocs-cli-'));
  siteFile = site(siteRouter, join(dir, 'site.yaml'));
  // the agent runs on the router the user names, not on the site file's
  await startAgent(site(namedRouter, join(dir, 'elsewhere.yaml')), 'faker');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ocs command line', () => {
  it('calls and queries through the router named by --site-hub, not the site file\'s HTTP bridge', async () => {
    const hub = ['--site-file', siteFile, '--site-hub', namedRouter.url];
    const call = spawnOcs(['client', 'call', 'faker', 'delay_task', 'start', 'delay=0.1', ...hub]);
    expect(await call.exited, call.stderr()).toBe(0);
    const status = spawnOcs(['client', 'status', 'faker', 'delay_task', ...hub]);
    expect(await status.exited, status.stderr()).toBe(0);
    expect(lines(status)).toContain('delay_task');
    // without the flag the site file's router answers: it has no such agent
    const plain = spawnOcs(['client', 'status', 'faker', '--site-file', siteFile]);
    expect(await plain.exited).toBe(1);
    expect(plain.stderr()).toMatch(/AGENT_UNAVAILABLE/);
  });

  it('prints the usage for --help on every command and client subcommand, exit 0', async () => {
    for (const args of [['--help'], ['router', '--help'], ['agent', '--help'], ['up', '--help'], ['top', '--help'], ['client', '--help']]) {
      const p = spawnOcs(args);
      expect(await p.exited, args.join(' ')).toBe(0);
      expect(lines(p), args.join(' ')).toMatch(/^usage: ocs/);
    }
    for (const sub of ['scan', 'listen', 'call', 'api', 'grant', 'status', 'publish']) {
      const p = spawnOcs(['client', sub, '--help']);
      expect(await p.exited, sub).toBe(0);
      expect(lines(p).split('\n')[0]).toMatch(new RegExp(`^usage: ocs client ${sub}\\b`));
    }
  });

  it('says in one line which option is unknown, then the usage, exit 2', async () => {
    const p = spawnOcs(['client', 'call', 'faker', 'delay_task', 'status', '--bogus', '--site-file', siteFile]);
    expect(await p.exited).toBe(2);
    const [first, second] = p.stderr().split('\n');
    expect(first).toBe("ocs client call: unknown option '--bogus'");
    expect(second).toMatch(/^usage: ocs client call /);
  });

  it("reads an op's parameters, types, defaults and min_privs with ocs client api, and points a refused start at it", async () => {
    const hub = ['--site-file', siteFile, '--site-hub', namedRouter.url];
    const api = spawnOcs(['client', 'api', 'faker', 'delay_task', ...hub]);
    expect(await api.exited, api.stderr()).toBe(0);
    const text = lines(api);
    expect(text).toMatch(/^faker: FakeDataAgent/);
    expect(text).toContain('delay_task (task, non-blocking, abortable, min_privs 1-BASIC)');
    expect(text).toContain('    delay (float, default 5): Time to wait before returning, in seconds. Defaults to 5.');
    const json = spawnOcs(['client', 'api', 'faker', '--json', ...hub]);
    expect(await json.exited).toBe(0);
    const ops = json.records.map((r) => r['op_name']);
    expect(ops).toEqual(expect.arrayContaining(['delay_task', 'set_heartbeat', 'acq', 'count']));
    const unknown = spawnOcs(['client', 'api', 'faker', 'nope', ...hub]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.stderr()).toContain("faker has no op 'nope' (ops: ");
    const bad = spawnOcs(['client', 'call', 'faker', 'delay_task', 'start', 'delay=abc', ...hub]);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toContain("'ocs client api faker delay_task' lists the parameters of delay_task");
  });
});

describe('every ocs command on a bad option', () => {
  it('prints one line naming it, then its usage, exit 2', async () => {
    for (const cmd of ['router', 'up', 'top']) {
      const p = spawnOcs([cmd, '--bogus', ...(cmd === 'top' ? ['--site-file', siteFile] : [])]);
      expect(await p.exited, cmd).toBe(2);
      expect(p.stderr().split('\n')[0], cmd).toBe(`ocs ${cmd}: unknown option '--bogus'`);
    }
  });
});
