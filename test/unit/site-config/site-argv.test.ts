import { describe, expect, it } from 'vitest';
import { configErrorFrom } from './config-error.js';
import { checkSiteArgv, parseSiteArgv } from '../../../lib/site-config/site-argv.js';

const failure = (argv: string[]) => configErrorFrom(() => parseSiteArgv(argv));

describe('parseSiteArgv', () => {
  it('parses every site flag and passes other tokens through in order', () => {
    const { flags, rest } = parseSiteArgv([
      'pos',
      '--site-file', 'f.yaml',
      '--mode', 'acq',
      '--site-host=h1',
      '--site-hub', 'ws://r:8001/ws',
      '--site-http', 'http://r:8001/call',
      '--site-realm', 'realm2',
      '--num-channels', '4',
      '--instance-id', 'fake-data1',
      '--address-root', 'obs',
      '--registry-address', 'obs.registry',
      '--log-dir', 'logs',
      '--working-dir', '/w',
      '--crossbar-timeout', '0',
      '--access-policy', 'override:a,b',
      '-v',
    ]);
    expect(flags).toEqual({
      siteFile: 'f.yaml',
      siteHost: 'h1',
      siteHub: 'ws://r:8001/ws',
      siteHttp: 'http://r:8001/call',
      siteRealm: 'realm2',
      instanceId: 'fake-data1',
      addressRoot: 'obs',
      logDir: 'logs',
      workingDir: '/w',
      crossbarTimeoutS: 0,
      accessPolicy: { policy: 'override', password2: 'a', password3: 'b' },
    });
    expect(rest).toEqual(['pos', '--mode', 'acq', '--num-channels', '4', '-v']);
  });

  it('takes the last of a repeated flag', () => {
    expect(parseSiteArgv(['--site', 'a', '--site', 'b']).flags).toEqual({ site: 'b' });
  });

  it('names the flag for a bad value', () => {
    const err = failure(['--crossbar-timeout', 'abc']);
    expect(err.message).toBe("--crossbar-timeout: expected a whole number of seconds >= 0, got 'abc'");
    expect(err.details).toEqual({
      flag: '--crossbar-timeout',
      issues: [{ flag: '--crossbar-timeout', message: "expected a whole number of seconds >= 0, got 'abc'" }],
    });
    expect(failure(['--crossbar-timeout', '-1']).message).toBe("--crossbar-timeout: expected a whole number of seconds >= 0, got '-1'");
    expect(failure(['--crossbar-timeout', '1.5']).message).toBe("--crossbar-timeout: expected a whole number of seconds >= 0, got '1.5'");
    expect(failure(['--site-hub', 'localhost:8001']).message).toBe("--site-hub: expected a ws:// or wss:// URL, got 'localhost:8001'");
    expect(failure(['--site-http', 'ws://x/call']).message).toBe("--site-http: expected an http:// or https:// URL, got 'ws://x/call'");
    expect(failure(['--instance-id', 'a.b']).message).toBe("--instance-id: expected an instance-id without '.', '#' or spaces, got 'a.b'");
    expect(failure(['--access-policy', 'open']).message).toBe(
      '--access-policy: expected none, director:<instance-id> or override:<password2>,<password3>',
    );
    expect(failure(['--site-file=']).message).toBe("--site-file: expected a non-empty string, got ''");
  });

  it('names a flag with no value', () => {
    expect(failure(['--site-host', '--mode', 'acq']).message).toBe('--site-host: missing value');
    expect(failure(['--instance-id']).message).toBe('--instance-id: missing value');
  });

  it('gives a site flag one value and keeps further values as positionals', () => {
    expect(parseSiteArgv(['--site-file', 'f.yaml', 'scan', '--details', '--site-host=h', 'x'])).toEqual({
      flags: { siteFile: 'f.yaml', siteHost: 'h' },
      rest: ['scan', '--details', 'x'],
    });
  });

  it('reports every problem when checking', () => {
    expect(checkSiteArgv(['--site-host', '--crossbar-timeout', 'x', '--keep']).problems).toEqual([
      { flag: '--site-host', message: 'missing value' },
      { flag: '--crossbar-timeout', message: "expected a whole number of seconds >= 0, got 'x'" },
    ]);
  });
});
