/**
 * The docker-compose deployment: docker-compose.yml, the Dockerfile, the crossbar config and the
 * site file the agent containers mount must agree with each other. When a compose
 * implementation is installed (`docker compose` or `docker-compose`), `config -q` must accept
 * the file too; it needs no docker engine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AGENT_CLASSES } from '../../../agents/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Agent classes the images can run: those registered in agents/index.ts. */
const SHIPPED_CLASSES = new Set(Object.keys(AGENT_CLASSES));

interface ComposeService {
  image?: string;
  build?: string | { context: string };
  hostname?: string;
  ports?: string[];
  environment?: Record<string, string> | string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
  init?: boolean;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}
interface SiteInstance {
  'agent-class': string;
  'instance-id': string;
  arguments?: unknown[];
}
interface SiteFile {
  hub: { wamp_server: string; wamp_http: string; wamp_realm: string; address_root: string };
  hosts: Record<string, { 'agent-instances': SiteInstance[] }>;
}

const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const services = compose.services;
const agentServices = Object.entries(services).filter(([, s]) => envOf(s)['INSTANCE_ID'] !== undefined);

function envOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

function dependsOn(service: ComposeService): string[] {
  const d = service.depends_on ?? [];
  return Array.isArray(d) ? d : Object.keys(d);
}

/** `host:container[:mode]` bind mounts (host part starts with . or /) as [host, container]. */
function bindMounts(service: ComposeService): Array<[string, string]> {
  return (service.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([host]) => host!.startsWith('.') || host!.startsWith('/'))
    .map(([host, container]) => [host!, container!]);
}

function mountOf(service: ComposeService, containerPath: string): string | undefined {
  return bindMounts(service).find(([, c]) => c === containerPath)?.[0];
}

function publishedPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((p) => Number(String(p).split(':').at(-1)!.split('/')[0]));
}

/** `docker compose` or `docker-compose`, whichever runs here; undefined when neither does. */
function composeCommand(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(cmd[0]!, [...cmd.slice(1), 'version'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.status === 0) return cmd;
  }
  return undefined;
}

describe('docker-compose.yml', () => {
  it('runs crossbar (with the console files), the registry, fake data, a HostManager, the InfluxDB publisher, InfluxDB, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['console-assets', 'crossbar', 'fake-data1', 'grafana', 'hm-docker', 'influxdb', 'influxdb-publisher', 'prometheus', 'registry']);
    expect(services['crossbar']!.image).toMatch(/^crossbario\/crossbar:/);
    expect(services['influxdb']!.image).toBe('influxdb:1.8');
    expect(services['grafana']!.image).toMatch(/^grafana\/grafana(-oss)?:/);
    expect(agentServices.map(([name]) => name).sort()).toEqual(['fake-data1', 'hm-docker', 'influxdb-publisher', 'registry']);
  });

  it('builds every agent service from the Dockerfile of this repository', () => {
    for (const [name, service] of agentServices) {
      const context = typeof service.build === 'string' ? service.build : service.build?.context;
      expect(context, name).toBe('.');
      expect(service.image, name).toBe('ocs-ts:latest');
      expect(service.init, name).toBe(true);
    }
    const dockerfile = read('Dockerfile');
    // Node 22 LTS is the baseline (autobahn-js 26 declares node >= 22), in both stages
    expect(dockerfile).toMatch(/^FROM node:22[\w.-]* AS build$/m);
    expect(dockerfile.match(/^FROM node:(\d+)/gm)).toEqual(['FROM node:22', 'FROM node:22']);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/bin\/ocs\.js", "agent"\]$/m);
    expect(dockerfile).toMatch(/OCS_CONFIG_DIR=\/config/);
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin['ocs']).toBe('dist/bin/ocs.js');
    expect(pkg.scripts['build']).toBeDefined();
    for (const copied of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of copied[1]!.split(' ')) expect(existsSync(join(ROOT, src)), `Dockerfile copies ${src}`).toBe(true);
    }
    expect(read('.dockerignore').split('\n')).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });

  it('publishes the router, InfluxDB and Grafana ports on loopback', () => {
    expect(publishedPorts(services['crossbar']!)).toEqual([8001]);
    expect(publishedPorts(services['influxdb']!)).toEqual([8086]);
    expect(publishedPorts(services['grafana']!)).toEqual([3000]);
    for (const s of ['crossbar', 'influxdb', 'grafana']) {
      for (const p of services[s]!.ports ?? []) expect(String(p), s).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('orders startup: agents after crossbar, the publisher and Grafana after InfluxDB', () => {
    for (const [name, service] of agentServices) expect(dependsOn(service), name).toContain('crossbar');
    expect(dependsOn(services['influxdb-publisher']!)).toContain('influxdb');
    expect(dependsOn(services['grafana']!)).toContain('influxdb');
    for (const [name, service] of Object.entries(services)) {
      for (const dep of dependsOn(service)) expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
    }
  });

  it('checks the health of crossbar and InfluxDB, and starts what needs them once they are healthy', () => {
    const check = (name: string) => (services[name] as { healthcheck?: { test: string[] } }).healthcheck?.test.join(' ') ?? '';
    expect(check('crossbar')).toContain('http://127.0.0.1:8001/info');
    expect(check('influxdb')).toContain('SHOW DATABASES');
    const condition = (name: string, dep: string) => ((services[name]!.depends_on ?? {}) as Record<string, { condition?: string }>)[dep]?.condition;
    for (const [name] of agentServices) expect(condition(name, 'crossbar'), name).toBe('service_healthy');
    expect(condition('influxdb-publisher', 'influxdb')).toBe('service_healthy');
    expect(condition('grafana', 'influxdb')).toBe('service_healthy');
  });

  it("runs a HostManager whose host's agents are its children, so the Supervisor dashboard has data", () => {
    const site = parseYaml(read('site-config/docker.yaml')) as { hosts: Record<string, { 'agent-instances': Array<SiteInstance & { manage?: string }> }> };
    const env = envOf(services['hm-docker']!);
    const host = site.hosts[env['SITE_HOST']!]!['agent-instances'];
    expect(host.find((i) => i['instance-id'] === 'hm-docker')!['agent-class']).toBe('HostManager');
    expect(host.filter((i) => i.manage === 'host/up').map((i) => i['instance-id'])).toEqual(['fake-data2']);
    expect(read('site-config/prometheus/prometheus.yml')).toContain("targets: ['hm-docker:9102']");
    // every agent the README's docker section names runs
    const docs = read('README.md').slice(read('README.md').indexOf('## Deployment with docker compose'));
    for (const id of ['registry', 'fake-data1', 'fake-data2', 'hm-docker', 'influxdb-publisher']) expect(docs.slice(0, 1200), id).toContain(id);
  });

  it('mounts only host paths that exist and declares every named volume', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source!.startsWith('.') || isAbsolute(source!)) {
          expect(existsSync(resolve(ROOT, source!)), `${name} mounts ${source}`).toBe(true);
        } else {
          expect(declared, `${name} uses volume ${source}`).toContain(source);
        }
      }
    }
  });

  it('gives every agent an INSTANCE_ID of its mounted site file, on its host, with a class we ship', () => {
    for (const [name, service] of agentServices) {
      const env = envOf(service);
      const siteMount = mountOf(service, '/config/default.yaml');
      expect(siteMount, `${name} mounts its site file at /config/default.yaml`).toBeDefined();
      const site = parseYaml(readFileSync(resolve(ROOT, siteMount!), 'utf8')) as SiteFile;
      expect(env['SITE_HUB'], name).toBe(site.hub.wamp_server);
      expect(env['SITE_HTTP'], name).toBe(site.hub.wamp_http);
      expect(env['SITE_HOST'], name).toBe(service.hostname);
      const host = site.hosts[env['SITE_HOST']!];
      expect(host, `${name}: host ${env['SITE_HOST']} in ${siteMount}`).toBeDefined();
      const instance = host!['agent-instances'].find((i) => i['instance-id'] === env['INSTANCE_ID']);
      expect(instance, `${name}: instance ${env['INSTANCE_ID']}`).toBeDefined();
      expect([...SHIPPED_CLASSES], `${name}: class ${instance!['agent-class']}`).toContain(instance!['agent-class']);
      expect(name).toBe(env['INSTANCE_ID']);
    }
  });

  it('points the hub at the crossbar service and the publisher at the influxdb service', () => {
    const site = parseYaml(read('site-config/docker.yaml')) as SiteFile;
    const hub = new URL(site.hub.wamp_server);
    expect(hub.hostname).toBe('crossbar');
    expect(new URL(site.hub.wamp_http).hostname).toBe('crossbar');
    expect(publishedPorts(services['crossbar']!)).toContain(Number(hub.port));
    const instances = Object.values(site.hosts).flatMap((h) => h['agent-instances']);
    const publisher = instances.find((i) => i['agent-class'] === 'InfluxDBAgent')!;
    const args = (publisher.arguments ?? []).map(String);
    expect(args[args.indexOf('--host') + 1]).toBe('influxdb');
    expect(args[args.indexOf('--initial-state') + 1]).toBe('record');
    expect(Object.keys(services)).toContain('influxdb');
  });

  it('mounts the Grafana provisioning and the dashboards where the provider looks', () => {
    const grafana = services['grafana']!;
    const provisioning = mountOf(grafana, '/etc/grafana/provisioning');
    expect(provisioning).toBe('./site-config/grafana/provisioning');
    const provider = parseYaml(read('site-config/grafana/provisioning/dashboards/ocs.yaml')) as { providers: Array<{ options: { path: string } }> };
    const dashboards = mountOf(grafana, provider.providers[0]!.options.path);
    expect(dashboards).toBe('./site-config/grafana/dashboards');
    expect(statSync(resolve(ROOT, dashboards!)).isDirectory()).toBe(true);
  });

  it('is accepted by `compose config -q` where a compose implementation runs, and parses as YAML everywhere', () => {
    expect(compose.services).toBeTypeOf('object');
    const cmd = composeCommand();
    if (cmd) {
      const run = spawnSync(cmd[0]!, [...cmd.slice(1), '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
      expect(run.stderr + run.stdout).toBe('');
      expect(run.status).toBe(0);
    }
  }, 90_000);
});

describe('site-config/crossbar/config.json', () => {
  const config = JSON.parse(read('site-config/crossbar/config.json')) as {
    version: number;
    workers: Array<{
      type: string;
      realms: Array<{ name: string; roles: Array<{ name: string; permissions: Array<{ uri: string; match: string; allow: Record<string, boolean> }> }> }>;
      transports: Array<{ type: string; endpoint: { type: string; port: number }; paths: Record<string, { type: string; realm?: string; role?: string; auth?: { anonymous?: { type: string; role: string } } }> }>;
    }>;
  };
  const site = parseYaml(read('site-config/docker.yaml')) as SiteFile;
  const router = config.workers.find((w) => w.type === 'router')!;

  it("serves the web console as a static path from the volume the console-assets service fills from the image's dist/console", () => {
    const transport = router.transports[0]!;
    const path = transport.paths['console'] as unknown as { type: string; directory: string; options: { enable_directory_listing: boolean } };
    expect(path).toMatchObject({ type: 'static', directory: '../console', options: { enable_directory_listing: false } });
    // crossbar's node directory is /node/.crossbar: ../console is /node/console
    expect(services['crossbar']!.volumes).toContain('console-assets:/node/console:ro');
    expect(dependsOn(services['crossbar']!)).toEqual(['console-assets']);
    const assets = services['console-assets']!;
    expect(assets.image).toBe('ocs-ts:latest');
    expect(assets.volumes).toEqual(['console-assets:/console']);
    expect(JSON.stringify((assets as { entrypoint?: unknown }).entrypoint)).toContain('cp -r /app/dist/console/. /console/');
    // a static copy has the site's defaults beside the page (the embedded router answers config.json itself)
    expect(JSON.parse(read('lib/console/page/public/config.json'))).toEqual({ realm: site.hub.wamp_realm, address_root: site.hub.address_root, registry_id: 'registry', router_url: null });
  });

  it('is the OCS router config: version 2, one router worker, realm of the site file', () => {
    expect(config.version).toBe(2);
    expect(config.workers).toHaveLength(1);
    expect(router.realms.map((r) => r.name)).toEqual([site.hub.wamp_realm]);
  });

  it('serves /ws to anonymous agents allowed everything under the address root, and /call as a controller', () => {
    const transport = router.transports[0]!;
    expect(transport.type).toBe('web');
    expect(transport.endpoint).toEqual({ type: 'tcp', port: Number(new URL(site.hub.wamp_server).port) });
    expect(Object.keys(transport.paths).sort()).toEqual(['call', 'console', 'info', 'publish', 'ws']);
    expect(transport.paths['publish']).toMatchObject({ type: 'publisher', realm: site.hub.wamp_realm, role: 'iocs_controller' });
    expect(transport.paths['info']).toEqual({ type: 'nodeinfo' });
    const roles = new Map(router.realms[0]!.roles.map((r) => [r.name, r]));

    const ws = transport.paths['ws']!;
    expect(ws.type).toBe('websocket');
    const agentRole = roles.get(ws.auth!.anonymous!.role)!;
    expect(ws.auth!.anonymous!.type).toBe('static');
    expect(agentRole.permissions).toEqual([
      expect.objectContaining({ uri: `${site.hub.address_root}.`, match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true } }),
    ]);

    const call = transport.paths['call']!;
    expect(call).toMatchObject({ type: 'caller', realm: site.hub.wamp_realm });
    const controller = roles.get(call.role!)!;
    expect(controller.permissions).toEqual([
      expect.objectContaining({ uri: `${site.hub.address_root}.`, match: 'prefix', allow: expect.objectContaining({ call: true, register: false }) }),
    ]);
    expect(new URL(site.hub.wamp_http).pathname).toBe('/call');
    expect(new URL(site.hub.wamp_server).pathname).toBe('/ws');
  });
});
