import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../helpers/project-root.js';
import { registerCleanup } from '../../helpers/router.js';
import { RawSession } from './raw-session.js';

const ENTRY = join(projectRoot(), 'dist', 'bin', 'ocs.js');

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [ENTRY, 'router', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  registerCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, exited, stderr: () => stderr };
}

function listeningLine(r: Run): Promise<string> {
  const lines = createInterface({ input: r.child.stdout! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${r.stderr()}`)), 15_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    void r.exited.then((code) => reject(new Error(`exited with ${code}: ${r.stderr()}`)));
  });
}

describe('ocs router command', () => {
  it('prints its URL, serves WAMP, and on SIGTERM says system_shutdown and exits 0', async () => {
    const r = run(['--port', '0', '--realm', 'my_realm']);
    const line = await listeningLine(r);
    const m = /^router listening on (ws:\/\/127\.0\.0\.1:\d+\/ws)$/.exec(line);
    expect(m, line).not.toBeNull();
    const s = await RawSession.join(m![1]!, 'my_realm');
    expect(s.welcome['realm']).toBe('my_realm');
    r.child.kill('SIGTERM');
    const goodbye = await s.next((x) => x[0] === 6);
    expect(goodbye[2]).toBe('wamp.close.system_shutdown');
    s.send([6, {}, 'wamp.close.goodbye_and_out']);
    expect(await r.exited).toBe(0);
  });

  it('exits 0 on SIGINT', async () => {
    const r = run(['--port', '0']);
    await listeningLine(r);
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
  });

  it('exits 2 with a clear message on bad options', async () => {
    const unknown = run(['--bogus']);
    expect(await unknown.exited).toBe(2);
    expect(unknown.stderr()).toContain('--bogus');
    const port = run(['--port', 'abc']);
    expect(await port.exited).toBe(2);
    expect(port.stderr()).toContain('--port');
    const youngGen = run(['--young-gen-mb', '2000']);
    expect(await youngGen.exited).toBe(2);
    expect(youngGen.stderr()).toContain("--young-gen-mb must be an integer in [0, 1024], got '2000'");
  });

  it('exits 78 naming the file and the path inside it on a bad config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocs-router-config-'));
    const bad = join(dir, 'router.yaml');
    writeFileSync(bad, 'realms:\n  - name: test_realm\n    roles:\n      - name: anonymous\n        permissions:\n          - uri: ""\n            match: sometimes\n');
    const r = run(['--port', '0', '--config', bad]);
    expect(await r.exited).toBe(78);
    expect(r.stderr()).toContain(bad);
    expect(r.stderr()).toContain('realms.0.roles.0.permissions.0.match');
    const syntax = join(dir, 'syntax.yaml');
    writeFileSync(syntax, 'realms: [\n');
    const s = run(['--config', syntax]);
    expect(await s.exited).toBe(78);
    expect(s.stderr()).toContain(syntax);
    const missing = run(['--config', join(dir, 'missing.yaml')]);
    expect(await missing.exited).toBe(78);
  });

  it('runs from a YAML config with realms, roles and tickets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocs-router-config-'));
    const file = join(dir, 'router.yaml');
    writeFileSync(
      file,
      [
        'realms:',
        '  - name: site_realm',
        '    roles:',
        '      - name: agent',
        '        permissions:',
        '          - {uri: "observatory.", match: prefix, allow: {call: true, register: true, publish: true, subscribe: true}}',
        'auth:',
        '  ticket:',
        '    type: static',
        '    principals:',
        '      agent-1: {ticket: s3cret, role: agent}',
        '',
      ].join('\n'),
    );
    const r = run(['--port', '0', '--config', file]);
    const url = /(ws:\S+)/.exec(await listeningLine(r))![1]!;
    const anon = await RawSession.open(url);
    anon.send([1, 'site_realm', { roles: { caller: {} } }]);
    expect((await anon.next((x) => x[0] === 3))[2]).toBe('wamp.error.no_auth_method');
    const s = await RawSession.open(url);
    s.send([1, 'site_realm', { roles: { caller: {} }, authmethods: ['ticket'], authid: 'agent-1' }]);
    expect(await s.next((x) => x[0] === 4)).toEqual([4, 'ticket', {}]);
    s.send([5, 's3cret', {}]);
    expect((await s.next((x) => x[0] === 2))[2]).toMatchObject({ authid: 'agent-1', authrole: 'agent', authmethod: 'ticket' });
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });
});
