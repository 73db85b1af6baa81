import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/errors.js';
import { parseEnv } from '../../../lib/site-config/env.js';
import { resolveAgentConfig } from '../../../lib/site-config/resolve-agent-config.js';

/**
 * A cluster service instance is launched by the holding host's HostManager as
 * `ocs agent --site-file F --site-host <host> --instance-id <id>`: the site file resolves it on
 * every host the service lists (test/fixtures/site/supervised.yaml: fake-cluster and
 * fake-spread-1..3 over h1, h2, h3).
 */
const SITE = resolve('test/fixtures/site/supervised.yaml');
const NO_ENV = parseEnv({});

const run = (host: string, instanceId: string, extra: string[] = []) =>
  resolveAgentConfig({ argv: ['--site-file', SITE, '--site-host', host, '--instance-id', instanceId, ...extra], env: NO_ENV, cwd: resolve('.') });

describe('service instances in the site file', () => {
  it('resolves a service instance on each of its hosts, with the service class and arguments', () => {
    for (const host of ['h1', 'h2', 'h3']) {
      const c = run(host, 'fake-cluster');
      expect(c.host).toBe(host);
      expect(c.instance).toEqual({
        agentClass: 'FakeDataAgent',
        instanceId: 'fake-cluster',
        arguments: ['--mode', 'acq', '--num-channels', '4'],
        manage: 'on-demand',
        supervise: {},
      });
      expect(c.agentArgv).toEqual(['--mode', 'acq', '--num-channels', '4']);
    }
    const spread = run('h2', 'fake-spread-3', ['--seed', '3']);
    expect(spread.instance).toMatchObject({ agentClass: 'FakeDataAgent', instanceId: 'fake-spread-3', supervise: { restart: 'always' } });
    expect(spread.agentArgv).toEqual(['--seed', '3']);
  });

  it('checks the class and refuses unknown ids as before', () => {
    expect(() => resolveAgentConfig({ argv: ['--site-file', SITE, '--site-host', 'h1', '--instance-id', 'fake-cluster'], env: NO_ENV, agentClass: 'RegistryAgent' })).toThrow(
      "instance-id 'fake-cluster' is a FakeDataAgent, not a RegistryAgent",
    );
    expect(() => run('h1', 'fake-spread-4')).toThrow(ConfigError);
    expect(() => run('h1', 'fake-spread-4')).toThrow("no instance-id 'fake-spread-4'");
  });

  it('refuses a service instance on a host the service does not list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocs-svc-'));
    try {
      const file = join(dir, 'site.yaml');
      writeFileSync(
        file,
        [
          'hub: {wamp_server: ws://127.0.0.1:8001/ws, wamp_realm: test_realm, address_root: obs}',
          'hosts: {h1: {agent-instances: []}, h2: {agent-instances: []}}',
          'services: {only-h1: {agent-class: FakeDataAgent, hosts: [h1]}}',
          '',
        ].join('\n'),
      );
      const argv = (host: string) => ['--site-file', file, '--site-host', host, '--instance-id', 'only-h1'];
      expect(resolveAgentConfig({ argv: argv('h1'), env: NO_ENV }).instance.agentClass).toBe('FakeDataAgent');
      expect(() => resolveAgentConfig({ argv: argv('h2'), env: NO_ENV })).toThrow("'only-h1' is an instance of service 'only-h1', which does not run on host 'h2' (hosts: h1)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
