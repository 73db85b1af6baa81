import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configErrorFrom } from './config-error.js';
import { parseEnv, type OcsEnv } from '../../../lib/site-config/env.js';
import { parseSiteConfig } from '../../../lib/site-config/load.js';
import { resolveAgentConfig, type ResolveAgentOptions } from '../../../lib/site-config/resolve-agent-config.js';

const FIX = 'test/fixtures/site';
const DEPLOY = `${FIX}/ocs-deployment.yaml`;
const DEFAULT = 'site-config/default.yaml';
const CWD = '/srv/ocs';
const NO_ENV = parseEnv({});

function run(argv: string[], extra: Partial<ResolveAgentOptions> & { env?: OcsEnv } = {}) {
  return resolveAgentConfig({ argv, env: NO_ENV, hostname: 'unknown-host', cwd: process.cwd(), ...extra });
}

const failure = configErrorFrom;

describe('resolveAgentConfig', () => {
  it('resolves an instance of the default site', () => {
    const c = run(['--site-file', 'site-config/default.yaml', '--instance-id', 'fake-data1'], { cwd: resolve('.') });
    expect(c).toEqual({
      siteFile: resolve('site-config/default.yaml'),
      site: expect.any(Object),
      host: 'localhost',
      hub: {
        wampServer: 'ws://127.0.0.1:8001/ws',
        wampHttp: 'http://127.0.0.1:8001/call',
        wampRealm: 'test_realm',
        addressRoot: 'observatory',
        accessPolicy: { policy: 'none' },
      },
      instance: {
        agentClass: 'FakeDataAgent',
        instanceId: 'fake-data1',
        arguments: ['--mode', 'acq', '--num-channels', '16'],
        manage: 'host/up',
        supervise: {},
      },
      crossbarTimeoutS: 10,
      logDir: null,
      workingDir: resolve('.'),
      logLevel: 'info',
      agentArgv: ['--mode', 'acq', '--num-channels', '16'],
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.agentArgv)).toBe(true);
  });

  it('merges the command line over the site arguments and drops site flags from agentArgv', () => {
    const c = run(['--site-file', 'site-config/default.yaml', '--instance-id=fake-data2', '--num-channels', '8', '--seed', '-5', '--site-realm', 'r2']);
    expect(c.agentArgv).toEqual(['--mode', 'acq', '--num-channels', '8', '--seed', '-5']);
    expect(c.instance.arguments).toEqual(['--mode', 'acq', '--num-channels', '4']);
    expect(c.hub.wampRealm).toBe('r2');
  });

  it('finds the instance by agent class when it is unique, and checks it when both are given', () => {
    expect(run(['--site-file', 'site-config/default.yaml'], { agentClass: 'RegistryAgent' }).instance.instanceId).toBe('registry');
    expect(run(['--site-file', 'site-config/default.yaml', '--instance-id', 'registry'], { agentClass: 'RegistryAgent' }).agentArgv).toEqual([
      '--wait-time', '30', '--metrics-port', '9101',
    ]);
    expect(failure(() => run(['--site-file', 'site-config/default.yaml'], { agentClass: 'FakeDataAgent' })).message).toBe(
      `${resolve(DEFAULT)}: hosts.localhost.agent-instances: 2 instances of agent-class FakeDataAgent (fake-data1, fake-data2); pass --instance-id`,
    );
    expect(failure(() => run(['--site-file', 'site-config/default.yaml'], { agentClass: 'InfluxDBAgent' })).message).toBe(
      `${resolve(DEFAULT)}: hosts.localhost.agent-instances: no instance of agent-class InfluxDBAgent`,
    );
    expect(failure(() => run(['--site-file', 'site-config/default.yaml', '--instance-id', 'registry'], { agentClass: 'FakeDataAgent' })).message).toBe(
      `${resolve(DEFAULT)}: hosts.localhost.agent-instances: instance-id 'registry' is a RegistryAgent, not a FakeDataAgent`,
    );
    const err = failure(() => run(['--site-file', 'site-config/default.yaml']));
    expect(err.message).toBe('--instance-id (or INSTANCE_ID) is required');
    expect(err.details).toEqual({ flag: '--instance-id' });
  });

  it('names the instance-id that is not on the host, and where it is', () => {
    expect(failure(() => run(['--site-file', DEPLOY, '--instance-id', 'LSARR00'])).message).toBe(
      `${resolve(DEPLOY)}: hosts.localhost.agent-instances: no instance-id 'LSARR00' (it is under hosts.daq-host-1-docker; pass --site-host)`,
    );
    expect(failure(() => run(['--site-file', DEPLOY, '--instance-id', 'nobody'])).message).toBe(
      `${resolve(DEPLOY)}: hosts.localhost.agent-instances: no instance-id 'nobody'`,
    );
  });

  it('looks the host up by --site-host, then SITE_HOST, then the hostname, then localhost', () => {
    const argv = ['--site-file', DEPLOY, '--instance-id', 'thermo1'];
    expect(run(argv, { hostname: 'daq-host-1' }).host).toBe('daq-host-1');
    expect(run(argv, { hostname: 'daq-host-1', env: parseEnv({ SITE_HOST: 'daq-host-1-docker' }) }).host).toBe('daq-host-1-docker');
    expect(run([...argv, '--site-host', 'daq-host-1'], { hostname: 'x', env: parseEnv({ SITE_HOST: 'daq-host-1-docker' }) }).host).toBe('daq-host-1');
    expect(run(['--site-file', DEPLOY, '--instance-id', 'fake-data-local', '--site-host', 'no-such-host']).host).toBe('localhost');
  });

  it('fails when neither the host nor localhost has an entry', () => {
    const site = parseSiteConfig('hub: {wamp_server: ws://r/ws, wamp_realm: r, address_root: o}\nhosts:\n  h1: {agent-instances: []}\n', 's.yaml');
    expect(failure(() => run(['--site-file', 's.yaml', '--instance-id', 'x'], { cwd: CWD, loadSite: () => site })).message).toBe(
      "/srv/ocs/s.yaml: hosts: no entry for host 'unknown-host' and no 'localhost' entry (known hosts: h1); pass --site-host",
    );
  });

  it('applies per-host hub overrides, then the environment, then the command line', () => {
    const argv = ['--site-file', DEPLOY, '--instance-id', 'LSARR00', '--site-host', 'daq-host-1-docker'];
    expect(run(argv).hub).toEqual({
      wampServer: 'ws://crossbar:8001/ws',
      wampHttp: 'http://crossbar:8001/call',
      wampRealm: 'test_realm',
      addressRoot: 'observatory',
      accessPolicy: { policy: 'director', directorId: 'access-dir' },
    });
    const env = parseEnv({ SITE_HUB: 'ws://env:1/ws', SITE_HTTP: 'http://env:1/call' });
    expect(run(argv, { env }).hub).toMatchObject({ wampServer: 'ws://env:1/ws', wampHttp: 'http://env:1/call' });
    const cli = [...argv, '--site-hub', 'ws://cli:2/ws', '--site-http', 'http://cli:2/call', '--address-root', 'lab', '--access-policy', 'none'];
    expect(run(cli, { env }).hub).toEqual({
      wampServer: 'ws://cli:2/ws',
      wampHttp: 'http://cli:2/call',
      wampRealm: 'test_realm',
      addressRoot: 'lab',
      accessPolicy: { policy: 'none' },
    });
  });

  it('takes site flags from the site arguments below the command line and environment', () => {
    const argv = ['--site-file', DEPLOY, '--site-host', 'daq-host-1'];
    const ad = run([...argv, '--instance-id', 'access-dir']);
    expect(ad.hub.accessPolicy).toEqual({ policy: 'none' });
    expect(ad.agentArgv).toEqual(['--config-file', 'ocs-access.yaml']);
    expect(run([...argv, '--instance-id', 'thermo1']).crossbarTimeoutS).toBe(30);
    expect(run([...argv, '--instance-id', 'thermo2']).crossbarTimeoutS).toBe(0);
    expect(run([...argv, '--instance-id', 'thermo1'], { env: parseEnv({ CROSSBAR_TIMEOUT: '7' }) }).crossbarTimeoutS).toBe(7);
    expect(run([...argv, '--instance-id', 'thermo1', '--crossbar-timeout', '3'], { env: parseEnv({ CROSSBAR_TIMEOUT: '7' }) }).crossbarTimeoutS).toBe(3);
    expect(run([...argv, '--instance-id', 'aggregator']).crossbarTimeoutS).toBe(20);
    expect(run([...argv, '--instance-id', 'thermo1']).agentArgv).toEqual(['--serial-number', 'LSA11AA', '--mode', 'idle']);
  });

  it('takes the instance-id from INSTANCE_ID when the flag is absent', () => {
    const env = parseEnv({ INSTANCE_ID: 'fake-data2' });
    expect(run(['--site-file', 'site-config/default.yaml'], { env }).instance.instanceId).toBe('fake-data2');
    expect(run(['--site-file', 'site-config/default.yaml', '--instance-id', 'registry'], { env }).instance.instanceId).toBe('registry');
  });

  it('finds the site file by --site in OCS_CONFIG_DIR, default.yaml by default', () => {
    const env = parseEnv({ OCS_CONFIG_DIR: resolve('site-config') });
    expect(run(['--instance-id', 'registry'], { env }).siteFile).toBe(resolve('site-config/default.yaml'));
    expect(run(['--site', 'default', '--instance-id', 'registry'], { env }).siteFile).toBe(resolve('site-config/default.yaml'));
    expect(failure(() => run(['--site', 'ocs-deployment', '--instance-id', 'registry'], { env })).message).toBe(
      `${resolve('site-config/ocs-deployment.yaml')}: (top level): cannot read the site file: no such file`,
    );
  });

  it('rejects --site with --site-file, and a missing OCS_CONFIG_DIR', () => {
    expect(failure(() => run(['--site', 'x', '--site-file', 'y.yaml'])).message).toBe('--site and --site-file are exclusive; give one of them');
    expect(failure(() => run(['--instance-id', 'x'])).message).toBe('no site file: give --site-file, or set OCS_CONFIG_DIR');
    expect(failure(() => run(['--site', 'lab', '--instance-id', 'x'])).message).toBe(
      'no site file: set OCS_CONFIG_DIR (--site lab reads $OCS_CONFIG_DIR/lab.yaml)',
    );
  });

  it('names the flag for a bad command-line value', () => {
    const err = failure(() => run(['--site-file', 'site-config/default.yaml', '--instance-id', 'registry', '--crossbar-timeout', 'abc']));
    expect(err.message).toBe("--crossbar-timeout: expected a whole number of seconds >= 0, got 'abc'");
    expect(err.details['flag']).toBe('--crossbar-timeout');
  });

  it('joins a relative log-dir to the working dir', () => {
    const base = ['--site-file', resolve(DEPLOY), '--instance-id', 'fake-data-local'];
    expect(run(base, { cwd: CWD })).toMatchObject({ workingDir: CWD, logDir: '/srv/ocs/logs' });
    expect(run([...base, '--working-dir', 'run'], { cwd: CWD })).toMatchObject({ workingDir: '/srv/ocs/run', logDir: '/srv/ocs/run/logs' });
    expect(run([...base, '--log-dir', '/var/log/ocs'], { cwd: CWD }).logDir).toBe('/var/log/ocs');
    expect(run(['--site-file', resolve(DEPLOY), '--instance-id', 'thermo1', '--site-host', 'daq-host-1'], { cwd: CWD }).logDir).toBe('/simonsobs/log/ocs/');
  });

  it('returns supervise settings and manage', () => {
    const c = run(['--site-file', `${FIX}/supervised.yaml`, '--site-host', 'h1', '--instance-id', 'fake-data-lazy']);
    expect(c.instance).toEqual({
      agentClass: 'FakeDataAgent',
      instanceId: 'fake-data-lazy',
      arguments: [],
      manage: 'on-demand',
      supervise: { restart: 'never', maxFailures: null },
    });
  });

  it('reads the log level from the environment', () => {
    const c = run(['--site-file', 'site-config/default.yaml', '--instance-id', 'registry'], { env: parseEnv({ LOGLEVEL: 'debug' }) });
    expect(c.logLevel).toBe('debug');
  });

  it('runs without a site file with --site none', () => {
    const c = run(
      ['--site', 'none', '--site-hub', 'ws://r:8001/ws', '--site-realm', 'test_realm', '--address-root', 'observatory', '--mode', 'idle', '--log-dir', 'l'],
      { agentClass: 'FakeDataAgent', env: parseEnv({ INSTANCE_ID: 'fd' }), cwd: CWD },
    );
    expect(c).toEqual({
      siteFile: null,
      site: null,
      host: null,
      hub: { wampServer: 'ws://r:8001/ws', wampHttp: null, wampRealm: 'test_realm', addressRoot: 'observatory', accessPolicy: { policy: 'none' } },
      instance: { agentClass: 'FakeDataAgent', instanceId: 'fd', arguments: [], manage: 'host/up', supervise: {} },
      crossbarTimeoutS: 10,
      logDir: '/srv/ocs/l',
      workingDir: CWD,
      logLevel: 'info',
      agentArgv: ['--mode', 'idle'],
    });
    expect(failure(() => run(['--site', 'none', '--site-realm', 'r'], { agentClass: 'X' })).message).toBe('--site none needs --site-hub (or SITE_HUB)');
    expect(
      failure(() => run(['--site', 'none', '--site-hub', 'ws://r/ws', '--site-realm', 'r', '--address-root', 'o', '--instance-id', 'i'])).message,
    ).toBe('--site none needs the agent class (there is no site file to look it up in)');
  });
});
