import { describe, expect, it } from 'vitest';
import { configErrorFrom } from './config-error.js';
import { parseSiteConfig } from '../../../lib/site-config/load.js';

const HUB = `hub:
  wamp_server: ws://localhost:8001/ws
  wamp_realm: test_realm
  address_root: observatory
`;

const site = (instances: string, services = '') => `${HUB}hosts:\n  localhost:\n    agent-instances:\n${instances}${services}`;
const inst = (id: string, supervise = '') => `      - {agent-class: FakeDataAgent, instance-id: ${id}${supervise === '' ? '' : `, supervise: {${supervise}}`}}\n`;

describe('supervise: resource limits and start ordering in the site file', () => {
  it('reads memory-max, cpu-max, nofile, requires, after and dependency-timeout-s', () => {
    const cfg = parseSiteConfig(
      site(inst('db', "memory-max: 512M, cpu-max: '80%', nofile: 1024") + inst('api', 'requires: [db], after: [cache], dependency-timeout-s: 20') + inst('cache', 'memory-max: 1073741824')),
      'site.yaml',
    );
    const [db, api, cache] = cfg.hosts['localhost']!.agentInstances;
    expect(db!.supervise).toEqual({ memoryMaxBytes: 512 * 1024 * 1024, cpuMaxPercent: 80, nofile: 1024 });
    expect(api!.supervise).toEqual({ requires: ['db'], after: ['cache'], dependencyTimeoutS: 20 });
    expect(cache!.supervise).toEqual({ memoryMaxBytes: 1073741824 });
  });

  it('names what is wrong with a limit', () => {
    const at = 'site.yaml: hosts.localhost.agent-instances[0].supervise';
    expect(configErrorFrom(() => parseSiteConfig(site(inst('db', 'memory-max: lots')), 'site.yaml')).message).toBe(
      `${at}.memory-max: expected a size in bytes or with a K, M or G suffix such as 512M, got 'lots'`,
    );
    expect(configErrorFrom(() => parseSiteConfig(site(inst('db', 'cpu-max: half')), 'site.yaml')).message).toBe(
      `${at}.cpu-max: expected a percentage of one core such as 80%, got 'half'`,
    );
    expect(configErrorFrom(() => parseSiteConfig(site(inst('db', 'nofile: 3')), 'site.yaml')).message).toBe(`${at}.nofile: expected a whole number of open files >= 16, got 3`);
  });

  it('refuses an unknown id and a cycle, naming both ends', () => {
    const unknown = configErrorFrom(() => parseSiteConfig(site(inst('api', 'requires: [db]')), 'site.yaml'));
    expect(unknown.message).toBe("site.yaml: hosts.localhost.agent-instances[0].supervise.requires: 'api' requires 'db', which is not an agent instance of this host");
    const cycle = configErrorFrom(() => parseSiteConfig(site(inst('a', 'after: [b]') + inst('b', 'requires: [a]')), 'site.yaml'));
    expect(cycle.message).toContain("dependency cycle: a -> b -> a ('b' and 'a' wait for each other)");
  });

  it('refuses requires on a service, whose instances move between hosts', () => {
    const services = `services:\n  web:\n    agent-class: FakeDataAgent\n    hosts: [localhost]\n    supervise: {requires: [db]}\n`;
    const err = configErrorFrom(() => parseSiteConfig(site(inst('db'), services), 'site.yaml'));
    expect(err.message).toContain("services.web.supervise.requires: requires orders agent instances of one host; a service's instances move between hosts and cannot have it");
  });
});
