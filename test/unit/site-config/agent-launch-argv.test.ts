import { describe, expect, it } from 'vitest';
import { agentLaunchArgv } from '../../../lib/site-config/agent-launch-argv.js';
import { parseSiteArgv } from '../../../lib/site-config/site-argv.js';

describe('agentLaunchArgv', () => {
  it('pins file, host and instance', () => {
    expect(agentLaunchArgv({ siteFile: '/etc/ocs/default.yaml', host: 'localhost', instanceId: 'fake-data1' })).toEqual([
      '--site-file', '/etc/ocs/default.yaml', '--site-host', 'localhost', '--instance-id', 'fake-data1',
    ]);
  });

  it('adds overrides that parse back to the same values', () => {
    const overrides = {
      workingDir: '/w',
      siteHub: 'ws://r/ws',
      siteHttp: 'http://r/call',
      siteRealm: 'realm',
      addressRoot: 'obs',
      crossbarTimeoutS: 0,
      logDir: '-logs',
      accessPolicy: { policy: 'director', directorId: 'access-dir' } as const,
    };
    const argv = agentLaunchArgv({ siteFile: 'f.yaml', host: 'h1', instanceId: 'x', ...overrides });
    expect(argv).toContain('--log-dir=-logs');
    expect(parseSiteArgv(argv)).toEqual({ flags: { siteFile: 'f.yaml', siteHost: 'h1', instanceId: 'x', ...overrides }, rest: [] });
  });
});
