import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configErrorFrom } from './config-error.js';
import { loadSiteConfig, parseSiteConfig } from '../../../lib/site-config/load.js';

const FIX = 'test/fixtures/site';

const failure = configErrorFrom;

const HUB = `hub:
  wamp_server: ws://localhost:8001/ws
  wamp_realm: test_realm
  address_root: observatory
`;

/** A site text with one localhost instance whose body is `inst` (YAML flow mapping body). */
const withInstance = (inst: string, hostExtra = '') =>
  `${HUB}hosts:\n  localhost:\n${hostExtra}    agent-instances:\n      - {agent-class: FakeDataAgent, instance-id: fake-data1${inst}}\n`;

describe('loadSiteConfig', () => {
  it('loads a real-style OCS deployment file with classes, keys and hosts we do not model', () => {
    const site = loadSiteConfig(`${FIX}/ocs-deployment.yaml`);
    expect(site.hub).toEqual({
      wampServer: 'ws://10.10.10.3:8001/ws',
      wampHttp: 'http://10.10.10.3:8001/call',
      wampRealm: 'test_realm',
      addressRoot: 'observatory',
      accessPolicy: { policy: 'director', directorId: 'access-dir' },
      identities: false,
    });
    expect(Object.keys(site.hosts)).toEqual(['daq-host-1', 'daq-host-1-docker', 'ocs-docker', 'localhost']);
    const daq = site.hosts['daq-host-1']!;
    expect(daq.logDir).toBe('/simonsobs/log/ocs/');
    expect(daq.crossbar).toEqual({ configDir: '/simonsobs/ocs/dot_crossbar/', bin: null });
    expect(daq.crossbarTimeoutS).toBe(20);
    expect(daq.agentInstances.map((i) => [i.instanceId, i.agentClass, i.manage])).toEqual([
      ['hm-daq-host-1', 'HostManager', 'host/up'],
      ['access-dir', 'AccessDirector', 'host/up'],
      ['thermo1', 'Lakeshore240Agent', 'host/up'],
      ['thermo2', 'Lakeshore240Agent', 'ignore'],
      ['aggregator', 'AggregatorAgent', 'host/down'],
    ]);
    // Nested lists flattened; numbers, YAML 1.1 booleans and negative numbers str()-ed as Python does.
    expect(daq.agentInstances[3]!.arguments).toEqual(['--serial-number', 'LSA22BB', '--mode', 'acq', '--crossbar-timeout', '0']);
    expect(daq.agentInstances[4]!.arguments).toEqual([
      '--initial-state', 'record', '--time-per-file', '3600', '--data-dir', '/data/', '--enabled', 'True', '--offset', '-5', '--rate', '0.5',
    ]);
    const docker = site.hosts['daq-host-1-docker']!;
    expect(docker.wampServer).toBe('ws://crossbar:8001/ws');
    expect(docker.wampHttp).toBe('http://crossbar:8001/call');
    expect(docker.wampRealm).toBeNull();
    expect(docker.crossbarTimeoutS).toBe(10);
    expect(docker.agentInstances.map((i) => [i.instanceId, i.manage])).toEqual([
      ['LSARR00', 'docker/up'],
      ['thermo1', 'docker/down'],
    ]);
    expect(site.hosts['ocs-docker']!.agentInstances[0]!.arguments).toEqual([
      '--mode', 'acq', '--num-channels', '16', '--sample-rate', '5', '--frame-length', '10',
    ]);
    expect(site.hosts['ocs-docker']!.agentInstances[2]).toEqual({
      agentClass: 'RegistryAgent', instanceId: 'registry', arguments: [], manage: 'host/up', supervise: {},
    });
    expect(site.hosts['localhost']).toMatchObject({ logDir: './logs', crossbar: null });
    expect(site.services).toEqual({});
  });

  it('loads the project default site', () => {
    const site = loadSiteConfig('site-config/default.yaml');
    expect(site.hub).toEqual({
      wampServer: 'ws://127.0.0.1:8001/ws',
      wampHttp: 'http://127.0.0.1:8001/call',
      wampRealm: 'test_realm',
      addressRoot: 'observatory',
      accessPolicy: { policy: 'none' },
      identities: false,
    });
    expect(Object.keys(site.hosts)).toEqual(['localhost']);
    expect(site.hosts['localhost']!.agentInstances.map((i) => [i.agentClass, i.instanceId, i.arguments, i.manage])).toEqual([
      ['RegistryAgent', 'registry', ['--wait-time', '30', '--metrics-port', '9101'], 'host/up'],
      ['FakeDataAgent', 'fake-data1', ['--mode', 'acq', '--num-channels', '16'], 'host/up'],
      ['FakeDataAgent', 'fake-data2', ['--mode', 'acq', '--num-channels', '4'], 'host/up'],
      ['HostManager', 'hm-localhost', ['--metrics-port', '9102'], 'ignore'],
    ]);
  });

  it('loads supervise settings and services', () => {
    const site = loadSiteConfig(`${FIX}/supervised.yaml`);
    const h1 = site.hosts['h1']!;
    expect(h1.agentInstances[1]!.supervise).toEqual({
      restart: 'on-failure',
      minUptimeS: 2,
      maxFailures: 5,
      failureWindowS: 300,
      backoffInitialS: 1,
      backoffMaxS: 60,
      stopSignal: 'SIGINT',
      stopTimeoutS: 10,
      restartOnExpired: true,
    });
    expect(h1.agentInstances[2]).toMatchObject({ manage: 'on-demand', supervise: { restart: 'never', maxFailures: null } });
    expect(site.services['fake-cluster']).toEqual({
      name: 'fake-cluster',
      agentClass: 'FakeDataAgent',
      instances: 1,
      hosts: ['h1', 'h2', 'h3'],
      placement: 'nodes-order',
      arguments: ['--mode', 'acq', '--num-channels', '4'],
      globalExpect: 'started',
      supervise: {},
      instanceIds: ['fake-cluster'],
    });
    expect(site.services['fake-spread']).toMatchObject({
      instances: 3,
      placement: 'spread',
      globalExpect: 'started',
      arguments: [],
      supervise: { restart: 'always' },
      instanceIds: ['fake-spread-1', 'fake-spread-2', 'fake-spread-3'],
    });
  });

  it('returns a deep-frozen object', () => {
    const site = loadSiteConfig(`${FIX}/supervised.yaml`);
    expect(Object.isFrozen(site)).toBe(true);
    expect(Object.isFrozen(site.hosts['h1']!.agentInstances)).toBe(true);
    expect(Object.isFrozen(site.hosts['h1']!.agentInstances[1]!.supervise)).toBe(true);
    expect(Object.isFrozen(site.services['fake-cluster']!.hosts)).toBe(true);
    expect(() => {
      (site.hub as { wampRealm: string }).wampRealm = 'x';
    }).toThrow(TypeError);
  });

  it('names file, line and column for a YAML syntax error', () => {
    const err = failure(() => loadSiteConfig(`${FIX}/broken-syntax.yaml`));
    expect(err.message).toBe(
      `${FIX}/broken-syntax.yaml:9:5: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }`,
    );
    expect(err.code).toBe('CONFIG');
    expect(err.details).toMatchObject({ file: `${FIX}/broken-syntax.yaml`, line: 9, column: 5 });
  });

  it('names the path of a wrong type deep inside', () => {
    const err = failure(() => loadSiteConfig(`${FIX}/broken-deep-type.yaml`));
    expect(err.message).toBe(
      `${FIX}/broken-deep-type.yaml: hosts.localhost.agent-instances[1].arguments[3]: expected a string, number, true/false, null or a nested list`,
    );
    expect(err.details).toEqual({
      file: `${FIX}/broken-deep-type.yaml`,
      path: 'hosts.localhost.agent-instances[1].arguments[3]',
      issues: [
        {
          path: 'hosts.localhost.agent-instances[1].arguments[3]',
          message: 'expected a string, number, true/false, null or a nested list',
          line: 13,
          column: 50,
        },
      ],
    });
  });

  it('rejects a duplicate instance-id on one host', () => {
    const err = failure(() => loadSiteConfig(`${FIX}/broken-duplicate-id.yaml`));
    expect(err.message).toBe(
      `${FIX}/broken-duplicate-id.yaml: hosts.localhost.agent-instances[2].instance-id: duplicate instance-id 'fake-data1' (also agent-instances[0])`,
    );
    expect(err.details['issues']).toEqual([
      expect.objectContaining({ line: 10, column: 51 }),
    ]);
  });

  it('rejects a hub without wamp_realm', () => {
    const err = failure(() => loadSiteConfig(`${FIX}/broken-missing-realm.yaml`));
    expect(err.message).toBe(`${FIX}/broken-missing-realm.yaml: hub.wamp_realm: required key is missing`);
    expect(err.details['path']).toBe('hub.wamp_realm');
  });

  it('rejects an unknown key in supervise with a suggestion', () => {
    const err = failure(() => loadSiteConfig(`${FIX}/broken-supervise-key.yaml`));
    expect(err.message).toBe(
      `${FIX}/broken-supervise-key.yaml: hosts.localhost.agent-instances[0].supervise: unknown key 'max-failure' (did you mean 'max-failures'?); ` +
        'allowed: restart, min-uptime-s, max-failures, failure-window-s, backoff-initial-s, backoff-max-s, stop-signal, stop-timeout-s, restart-on-expired, memory-max, cpu-max, nofile, requires, after, dependency-timeout-s',
    );
    expect(err.details['issues']).toEqual([expect.objectContaining({ line: 12, column: 11 })]);
  });

  it('names a missing file', () => {
    const err = failure(() => loadSiteConfig(`${FIX}/nope.yaml`));
    expect(err.message).toBe(`${FIX}/nope.yaml: (top level): cannot read the site file: no such file`);
  });

  it('reads the file once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'site-'));
    const file = join(dir, 'site.yaml');
    writeFileSync(file, withInstance(''));
    const site = loadSiteConfig(file);
    writeFileSync(file, 'garbage: [');
    expect(site.hosts['localhost']!.agentInstances[0]!.instanceId).toBe('fake-data1');
  });
});

describe('parseSiteConfig', () => {
  const msg = (text: string) => failure(() => parseSiteConfig(text, 'site.yaml')).message;

  it('rejects an empty file', () => {
    expect(msg('# nothing\n')).toBe('site.yaml: (top level): the file is empty');
  });

  it('rejects a top level that is not a mapping', () => {
    expect(msg('- a\n- b\n')).toBe("site.yaml: (top level): expected a mapping with 'hub' and 'hosts', got a list");
  });

  it('rejects unknown top-level and hub keys, suggesting the close one', () => {
    expect(msg(`${HUB}host:\n  localhost: {agent-instances: []}\n`)).toBe(
      "site.yaml: (top level): unknown key 'host' (did you mean 'hosts'?); allowed: hub, hosts, services",
    );
    expect(msg(HUB.replace('address_root', 'adress_root'))).toBe(
      'site.yaml: hub.address_root: required key is missing\n' +
        "site.yaml: hub: unknown key 'adress_root' (did you mean 'address_root'?); allowed: wamp_server, wamp_http, wamp_realm, address_root, access_policy, registry_address, identities",
    );
  });

  it('accepts a file with a hub and no hosts (clients only)', () => {
    expect(parseSiteConfig(HUB, 'site.yaml').hosts).toEqual({});
    expect(parseSiteConfig(`${HUB}hosts:\n`, 'site.yaml').hosts).toEqual({});
  });

  it('checks hub URLs, realm and address root', () => {
    expect(msg(HUB.replace('ws://localhost:8001/ws', 'http://localhost:8001/ws'))).toBe(
      "site.yaml: hub.wamp_server: expected a ws:// or wss:// URL, got 'http://localhost:8001/ws'",
    );
    expect(msg(`${HUB}  wamp_http: localhost:8001\n`)).toBe("site.yaml: hub.wamp_http: expected an http:// or https:// URL, got 'localhost:8001'");
    expect(msg(HUB.replace('test_realm', "'test realm'"))).toBe("site.yaml: hub.wamp_realm: expected a realm name without spaces, got 'test realm'");
    expect(msg(HUB.replace('address_root: observatory', 'address_root: obs..x'))).toBe(
      "site.yaml: hub.address_root: expected an address root (dot-separated words, no spaces or '#'), got 'obs..x'",
    );
  });

  it('checks the access policy without repeating it', () => {
    expect(msg(`${HUB}  access_policy: override:secret\n`)).toBe(
      'site.yaml: hub.access_policy: override:<password2>,<password3> needs exactly two comma-separated passwords',
    );
    expect(msg(`${HUB}  access_policy: director\n`)).toBe(
      'site.yaml: hub.access_policy: expected none, director:<instance-id> or override:<password2>,<password3>',
    );
    const ok = (p: string) => parseSiteConfig(`${HUB}  access_policy: '${p}'\n`, 'site.yaml').hub.accessPolicy;
    expect(ok('director:')).toEqual({ policy: 'director', directorId: 'access-director' });
    expect(ok('override:a,b')).toEqual({ policy: 'override', password2: 'a', password3: 'b' });
    expect(ok('none')).toEqual({ policy: 'none' });
    expect(ok('')).toEqual({ policy: 'none' });
  });

  it('tolerates the legacy agent-paths host key and OCS crossbar block keys', () => {
    const site = parseSiteConfig(
      withInstance('', "    agent-paths: ['/x']\n    crossbar: {config-dir: ./cb, bin: /usr/bin/crossbar, extra: 1}\n"),
      'site.yaml',
    );
    expect(site.hosts['localhost']!.crossbar).toEqual({ configDir: './cb', bin: '/usr/bin/crossbar' });
  });

  it('rejects an unknown host key, suggesting crossbar_timeout for a typo', () => {
    expect(msg(withInstance('', '    crossbar_timout: 5\n'))).toBe(
      "site.yaml: hosts.localhost: unknown key 'crossbar_timout' (did you mean 'crossbar_timeout'?); " +
        'allowed: agent-instances, log-dir, crossbar, crossbar_timeout, crossbar-timeout, wamp_server, wamp_http, wamp_realm, agent-paths',
    );
  });

  it('honours crossbar-timeout, the spelling of the OCS docs, unless it conflicts', () => {
    expect(parseSiteConfig(withInstance('', '    crossbar-timeout: 0\n'), 'site.yaml').hosts['localhost']!.crossbarTimeoutS).toBe(0);
    expect(msg(withInstance('', '    crossbar-timeout: 5\n    crossbar_timeout: 6\n'))).toBe(
      'site.yaml: hosts.localhost.crossbar-timeout: conflicts with crossbar_timeout (6); give one of them',
    );
    expect(msg(withInstance('', '    crossbar_timeout: -1\n'))).toBe(
      'site.yaml: hosts.localhost.crossbar_timeout: expected a whole number of seconds >= 0, got -1',
    );
    expect(msg(withInstance('', '    crossbar_timeout: ten\n'))).toBe(
      "site.yaml: hosts.localhost.crossbar_timeout: expected a whole number of seconds >= 0, got 'ten'",
    );
  });

  it('rejects a host without agent-instances and a null host', () => {
    expect(msg(`${HUB}hosts:\n  localhost: {log-dir: ./logs}\n`)).toBe('site.yaml: hosts.localhost.agent-instances: required key is missing');
    expect(msg(`${HUB}hosts:\n  localhost:\n`)).toBe("site.yaml: hosts.localhost: expected a mapping with 'agent-instances', got null");
  });

  it('rejects unknown instance keys and bad instance values', () => {
    expect(msg(withInstance(', argments: []'))).toBe(
      "site.yaml: hosts.localhost.agent-instances[0]: unknown key 'argments' (did you mean 'arguments'?); " +
        'allowed: agent-class, instance-id, arguments, manage, supervise',
    );
    expect(msg(`${HUB}hosts:\n  localhost:\n    agent-instances:\n      - {agent-class: FakeDataAgent}\n`)).toBe(
      'site.yaml: hosts.localhost.agent-instances[0].instance-id: required key is missing',
    );
    expect(msg(withInstance('').replace('fake-data1', 'fake.data1'))).toBe(
      "site.yaml: hosts.localhost.agent-instances[0].instance-id: expected an instance-id without '.', '#' or spaces, got 'fake.data1'",
    );
    expect(msg(withInstance(', arguments: --mode acq'))).toBe(
      'site.yaml: hosts.localhost.agent-instances[0].arguments: expected a list of arguments',
    );
    expect(msg(withInstance(', manage: hots/up'))).toBe(
      'site.yaml: hosts.localhost.agent-instances[0].manage: expected one of host/up, host/down, docker/up, docker/down, ignore, on-demand ' +
        "(or yes, no, docker, host, up, down), got 'hots/up'",
    );
  });

  it('checks site flags inside arguments', () => {
    expect(msg(withInstance(', arguments: [--crossbar-timeout, abc]'))).toBe(
      "site.yaml: hosts.localhost.agent-instances[0].arguments: --crossbar-timeout: expected a whole number of seconds >= 0, got 'abc'",
    );
    expect(msg(withInstance(', arguments: [--site-host, other]'))).toBe(
      "site.yaml: hosts.localhost.agent-instances[0].arguments: --site-host cannot be set in a site file's arguments",
    );
    expect(msg(withInstance(', arguments: [--instance-id=x]'))).toBe(
      "site.yaml: hosts.localhost.agent-instances[0].arguments: --instance-id cannot be set in a site file's arguments",
    );
  });

  it('reads the file as YAML 1.1, like PyYAML', () => {
    const site = parseSiteConfig(withInstance(', manage: no, arguments: [--a, on, --b, off, --c, y, --d, 2024-01-02, --e, 010, --f, 1:30, --g, ~]'), 's.yaml');
    const inst = site.hosts['localhost']!.agentInstances[0]!;
    expect(inst.manage).toBe('ignore');
    expect(inst.arguments).toEqual(['--a', 'True', '--b', 'False', '--c', 'y', '--d', '2024-01-02', '--e', '8', '--f', '90', '--g', 'None']);
  });

  it('resolves anchors and merge keys, with x- keys free at the top level', () => {
    const text =
      `x-common:\n  args: &acq [--mode, acq]\n  inst: &fake {agent-class: FakeDataAgent, manage: host/down}\n${HUB}` +
      'hosts:\n  localhost:\n    agent-instances:\n' +
      '      - {<<: *fake, instance-id: f1, arguments: [*acq, --num-channels, 4]}\n' +
      '      - {<<: *fake, instance-id: f2, arguments: *acq}\n';
    const insts = parseSiteConfig(text, 's.yaml').hosts['localhost']!.agentInstances;
    expect(insts.map((i) => [i.instanceId, i.agentClass, i.manage, i.arguments])).toEqual([
      ['f1', 'FakeDataAgent', 'host/down', ['--mode', 'acq', '--num-channels', '4']],
      ['f2', 'FakeDataAgent', 'host/down', ['--mode', 'acq']],
    ]);
  });

  it('rejects duplicate keys as a syntax error', () => {
    expect(msg(`${HUB}hosts:\n  localhost: {agent-instances: []}\n  localhost: {agent-instances: []}\n`)).toBe(
      'site.yaml:7:3: YAML syntax error: Map keys must be unique',
    );
  });

  it('checks supervise values', () => {
    expect(msg(withInstance(', supervise: {restart: sometimes}'))).toBe(
      "site.yaml: hosts.localhost.agent-instances[0].supervise.restart: expected one of always, on-failure, never, got 'sometimes'",
    );
    expect(msg(withInstance(', supervise: {stop-signal: SIGFOO}'))).toBe(
      "site.yaml: hosts.localhost.agent-instances[0].supervise.stop-signal: expected a signal name such as SIGINT or SIGTERM, got 'SIGFOO'",
    );
    expect(msg(withInstance(', supervise: {backoff-initial-s: 10, backoff-max-s: 5}'))).toBe(
      'site.yaml: hosts.localhost.agent-instances[0].supervise.backoff-max-s: must be >= backoff-initial-s (10), got 5',
    );
    expect(msg(withInstance(', supervise: {stop-timeout-s: 0}'))).toBe(
      'site.yaml: hosts.localhost.agent-instances[0].supervise.stop-timeout-s: expected a number of seconds > 0, got 0',
    );
    expect(msg(withInstance(', supervise: {max-failures: 1.5}'))).toBe(
      'site.yaml: hosts.localhost.agent-instances[0].supervise.max-failures: expected a whole number >= 0, or null for no limit, got 1.5',
    );
    expect(msg(withInstance(', supervise: {restart-on-expired: maybe}'))).toBe(
      "site.yaml: hosts.localhost.agent-instances[0].supervise.restart-on-expired: expected true or false, got 'maybe'",
    );
    expect(msg(withInstance(', supervise: [restart]'))).toBe(
      'site.yaml: hosts.localhost.agent-instances[0].supervise: expected a mapping of supervisor settings, got a list',
    );
  });

  it('checks services', () => {
    const svc = (body: string) => `${withInstance('')}services:\n  ${body}\n`;
    expect(msg(svc('cluster: {agent-class: FakeDataAgent, hosts: [localhost, h9]}'))).toBe(
      "site.yaml: services.cluster.hosts[1]: no host 'h9' under hosts",
    );
    expect(msg(svc('fake-data1: {agent-class: FakeDataAgent, hosts: [localhost]}'))).toBe(
      "site.yaml: services.fake-data1: instance-id 'fake-data1' is also listed under hosts",
    );
    expect(msg(svc('fake: {agent-class: FakeDataAgent, instances: 2, hosts: [localhost]}\n  fake-2: {agent-class: FakeDataAgent, hosts: [localhost]}'))).toBe(
      "site.yaml: services.fake-2: instance-id 'fake-2' is also an instance of service 'fake'",
    );
    expect(msg(svc('c: {agent-class: FakeDataAgent, hosts: [localhost], placement: random}'))).toBe(
      "site.yaml: services.c.placement: expected one of nodes-order, spread, got 'random'",
    );
    expect(msg(svc('c: {agent-class: FakeDataAgent, hosts: []}'))).toBe('site.yaml: services.c.hosts: expected at least one host');
    expect(msg(svc('c: {agent-class: FakeDataAgent, hosts: [localhost], instances: 0}'))).toBe(
      'site.yaml: services.c.instances: expected a whole number >= 1, got 0',
    );
    expect(msg(svc('c: {agent-class: FakeDataAgent, hosts: [localhost], global-expect: started}'))).toBe(
      "site.yaml: services.c: unknown key 'global-expect' (did you mean 'global_expect'?); " +
        'allowed: agent-class, instances, hosts, placement, arguments, global_expect, supervise',
    );
    expect(msg(svc("'a.b': {agent-class: FakeDataAgent, hosts: [localhost]}"))).toBe(
      `site.yaml: services["a.b"]: a service name must not contain '.', '#' or spaces`,
    );
  });
});
