import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CliContext } from './main.js';
import { ConfigError, EXIT_CONFIG } from '../errors.js';
import { readEnv } from '../site-config/env.js';
import { resolveClientConfig } from '../site-config/resolve-client-config.js';
import { matchHost } from '../site-config/site-lookup.js';
import { startRouter, type RunningRouter } from '../router/index.js';
import { ROUTER_YOUNG_GEN_MB, capYoungGeneration } from '../router/young-generation.js';
import { WampConnection } from '../wamp/connection.js';

const USAGE = `usage: ocs up [--site-file FILE] [--site-host HOST] [--state-dir DIR] [--log-dir DIR]

Starts the whole system of this host: the embedded router when the site's hub points at this
machine and nothing listens there yet, then this host's HostManager, which brings up the
managed agents. One progress line per agent as its first heartbeat arrives. Ctrl-C stops the
HostManager (which stops its agents in order), then the router.

defaults: --site-file site-config/default.yaml (or $OCS_CONFIG_DIR/default.yaml),
          --site-host this machine's hostname (else the site's localhost entry),
          --state-dir ./state, --log-dir ./logs`;

const HOST_MANAGER_CLASS = 'HostManager';
const STOP_GRACE_MS = 30_000;

export async function runUpCommand(argv: string[], _ctx: CliContext): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        'site-file': { type: 'string' },
        'site-host': { type: 'string' },
        'state-dir': { type: 'string' },
        'log-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`ocs up: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values['help']) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    return await up(values);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ocs up: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function up(values: Record<string, string | boolean | undefined>): Promise<number> {
  const env = readEnv();
  const defaultSite = resolve('site-config', 'default.yaml');
  const siteFile = (values['site-file'] as string | undefined) ?? (env.configDir === undefined && existsSync(defaultSite) ? defaultSite : undefined);
  const siteArgs = siteFile ? ['--site-file', siteFile] : [];
  const config = resolveClientConfig({ argv: siteArgs, env });
  if (!config.site || !config.siteFile) throw new ConfigError('ocs up needs a site file (--site-file FILE)');
  const hostName = (values['site-host'] as string | undefined) ?? env.siteHost ?? hostname();
  const hostKey = matchHost(config.site, hostName);
  if (hostKey === undefined) {
    throw new ConfigError(`${config.siteFile}: no host entry for '${hostName}' (nor 'localhost'); hosts: ${Object.keys(config.site.hosts).join(', ')}`);
  }
  const hm = config.site.hosts[hostKey]!.agentInstances.find((i) => i.agentClass === HOST_MANAGER_CLASS);
  if (!hm) throw new ConfigError(`${config.siteFile}: hosts.${hostKey} has no ${HOST_MANAGER_CLASS} instance to run the host's agents`);

  const hub = config.hub;
  let router: RunningRouter | undefined;
  const hubUrl = new URL(hub.wampServer);
  const hubHost = hubUrl.hostname.replace(/^\[|\]$/g, '');
  const hubPort = Number(hubUrl.port || (hubUrl.protocol === 'wss:' ? 443 : 80));
  if (isThisMachine(hubHost) && !(await isListening(hubHost, hubPort))) {
    // this process then serves as the router (the HostManager and agents are children)
    capYoungGeneration(ROUTER_YOUNG_GEN_MB);
    router = await startRouter({ host: hubHost, port: hubPort, realm: hub.wampRealm });
    say(`router listening on ${router.url}`);
  } else {
    say(`using the router at ${hub.wampServer}`);
  }

  const logDir = resolve((values['log-dir'] as string | undefined) ?? 'logs');
  const stateDir = resolve((values['state-dir'] as string | undefined) ?? 'state');
  mkdirSync(logDir, { recursive: true });
  const hmLogPath = join(logDir, `${hm.instanceId}.log`);
  const hmLog = createWriteStream(hmLogPath, { flags: 'a' });
  const ocsBin = fileURLToPath(new URL('../../bin/ocs.js', import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    [ocsBin, 'agent', '--site-file', config.siteFile, '--site-host', hostKey, '--instance-id', hm.instanceId, '--state-dir', stateDir, '--log-dir', logDir],
    // Its own process group: a Ctrl-C in the terminal reaches only this command, which then
    // stops the HostManager with one SIGINT (a second one would make it SIGKILL its agents).
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  child.stdout!.pipe(hmLog, { end: false });
  child.stderr!.pipe(hmLog, { end: false });
  say(`starting ${hm.instanceId} (${HOST_MANAGER_CLASS}, pid ${child.pid}); its log: ${hmLogPath}`);
  const exited = new Promise<number>((res) => child.once('exit', (code, signal) => res(code ?? (signal ? 128 : 1))));

  const watcher = new WampConnection({ url: hub.wampServer, realm: hub.wampRealm, shouldReconnect: true, maxRetryDelayS: 2 });
  const seen = new Set<string>();
  // Its own start is announced above; the progress lines are the agents it brings up.
  const hmAddress = `${hub.addressRoot}.${hm.instanceId}`;
  watcher.on('join', (session) => {
    void session.subscribe(
      `${hub.addressRoot}..feeds.heartbeat`,
      (args) => {
        const feed = (args?.[0] as unknown[] | undefined)?.[1] as { agent_address?: unknown; agent_class?: unknown } | undefined;
        const address = typeof feed?.agent_address === 'string' ? feed.agent_address : undefined;
        if (!address || seen.has(address) || address === hmAddress) return;
        seen.add(address);
        say(`up: ${address.slice(hub.addressRoot.length + 1)} (${String(feed?.agent_class ?? '?')})`);
      },
      { match: 'wildcard' },
    );
  });
  void watcher.open().catch(() => undefined);

  const stopRequested = new Promise<string>((res) => {
    process.once('SIGINT', () => res('SIGINT'));
    process.once('SIGTERM', () => res('SIGTERM'));
  });
  const first = await Promise.race([exited.then((code) => ({ kind: 'exit' as const, code })), stopRequested.then((sig) => ({ kind: 'stop' as const, sig }))]);
  let code = 0;
  if (first.kind === 'exit') {
    say(`${hm.instanceId} exited with code ${first.code}; see ${hmLogPath}`);
    code = first.code === 0 ? 0 : 1;
  } else {
    say(`stopping (${first.sig}): ${hm.instanceId} stops its agents`);
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    const hmCode = await exited;
    clearTimeout(timer);
    say(`${hm.instanceId} stopped (exit ${hmCode})`);
  }
  await watcher.close();
  if (router) {
    await router.close();
    say('router stopped');
  }
  hmLog.end();
  return code;
}

function isThisMachine(host: string): boolean {
  if (host === 'localhost' || host === hostname() || host.startsWith('127.') || host === '::1' || host === '0.0.0.0') return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === host));
}

function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect({ host, port });
    const done = (result: boolean): void => {
      socket.destroy();
      res(result);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
