import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { constants as osConstants, hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CliContext } from './main.js';
import { parseErrorLine } from './parse-error.js';
import { ConfigError, EXIT_CONFIG, EXIT_LOCKED } from '../errors.js';
import { childEnv, readEnv } from '../site-config/env.js';
import { IDENTITY_KEY_FILE_NAME, IDENTITY_KEY_FILE_VAR, agentTicket, ensureIdentityKey } from '../site-config/identities.js';
import { resolveClientConfig } from '../site-config/resolve-client-config.js';
import { matchHost, siteInstanceIds, siteRegistryId } from '../site-config/site-lookup.js';
import { identityRouterConfigInput } from '../router/identity-profile.js';
import { defaultRouterConfigInput, startRouter, type RunningRouter } from '../router/index.js';
import { ROUTER_YOUNG_GEN_MB, capYoungGeneration } from '../router/young-generation.js';
import { WampConnection } from '../wamp/connection.js';

const USAGE = `usage: ocs up [--site-file FILE] [--site-host HOST] [--state-dir DIR] [--log-dir DIR]

Starts the whole system of this host: the embedded router when the site's hub points at this
machine and nothing listens there yet, then this host's HostManager, which brings up the
managed agents. One progress line per agent as its first heartbeat arrives. Ctrl-C stops the
HostManager (which stops its agents in order), then the router. A HostManager that dies is
restarted (after 1, 2, 4, 8 s; not after a config error, nor after 5 exits within 60 s) while the
router and the agents stay up; the new one re-adopts the agents.

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
    process.stderr.write(`ocs up: ${parseErrorLine(err)}\n${USAGE}\n`);
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
  const logDir = resolve((values['log-dir'] as string | undefined) ?? 'logs');
  const stateDir = resolve((values['state-dir'] as string | undefined) ?? 'state');
  // The safe profile: agents join with their own identity; the key stays with the router side and the HostManager.
  const keyFile = config.site.hub.identities ? join(stateDir, IDENTITY_KEY_FILE_NAME) : undefined;
  const key = keyFile === undefined ? undefined : ensureIdentityKey(keyFile);
  let router: RunningRouter | undefined;
  const hubUrl = new URL(hub.wampServer);
  const hubHost = hubUrl.hostname.replace(/^\[|\]$/g, '');
  const hubPort = Number(hubUrl.port || (hubUrl.protocol === 'wss:' ? 443 : 80));
  if (isThisMachine(hubHost) && !(await isListening(hubHost, hubPort))) {
    // this process then serves as the router (the HostManager and agents are children)
    capYoungGeneration(ROUTER_YOUNG_GEN_MB);
    const tickets = key === undefined ? undefined : Object.fromEntries([...siteInstanceIds(config.site)].map((id) => [id, agentTicket(key, id)]));
    const consoleSection = { address_root: hub.addressRoot, registry_id: siteRegistryId(config.site) ?? 'registry' };
    const routerConfig = tickets !== undefined ? identityRouterConfigInput(hub.wampRealm, hub.addressRoot, tickets) : defaultRouterConfigInput(hub.wampRealm);
    router = await startRouter({ host: hubHost, port: hubPort, realm: hub.wampRealm, config: { ...routerConfig, console: consoleSection } });
    say(`router listening on ${router.url}`);
    if (router.consoleUrl !== null) say(`console at ${router.consoleUrl}`);
  } else {
    say(`using the router at ${hub.wampServer}`);
  }

  if (keyFile !== undefined) say(`agent identities on: each agent registers and publishes only under its own address (key ${keyFile})`);
  mkdirSync(logDir, { recursive: true });
  const hmLogPath = join(logDir, `${hm.instanceId}.log`);
  const hmLog = createWriteStream(hmLogPath, { flags: 'a' });
  const ocsBin = fileURLToPath(new URL('../../bin/ocs.js', import.meta.url));
  const hmArgv = [ocsBin, 'agent', '--site-file', config.siteFile, '--site-host', hostKey, '--instance-id', hm.instanceId, '--state-dir', stateDir, '--log-dir', logDir];
  const startHostManager = (): RunningChild => {
    const child: ChildProcess = spawn(process.execPath, hmArgv, {
      // Its own process group: a Ctrl-C in the terminal reaches only this command, which then
      // stops the HostManager with one SIGINT (a second one would make it SIGKILL its agents).
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: childEnv(keyFile !== undefined ? { [IDENTITY_KEY_FILE_VAR]: keyFile } : {}),
    });
    child.stdout!.pipe(hmLog, { end: false });
    child.stderr!.pipe(hmLog, { end: false });
    // its last plain stderr line says why it ended (a lock held by another HostManager, say)
    const run: RunningChild = { child, exited: Promise.resolve({ code: null, signal: null }), lastStderrLine: '' };
    let pending = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '' && !line.startsWith('{')) run.lastStderrLine = line.trim();
    });
    const stderrEnded = new Promise<void>((res) => child.stderr!.once('close', () => res()));
    run.exited = new Promise<ChildExit>((res) => child.once('exit', (code, signal) => void stderrEnded.then(() => res({ code, signal }))));
    return run;
  };
  let hmRun = startHostManager();
  say(`starting ${hm.instanceId} (${HOST_MANAGER_CLASS}, pid ${hmRun.child.pid}); its log: ${hmLogPath}`);

  const watcher = new WampConnection({ url: hub.wampServer, realm: hub.wampRealm, shouldReconnect: true, maxRetryDelayS: 2 });
  const seen = new Set<string>();
  // Its own start is announced above; the progress lines are the agents it brings up.
  const hmAddress = `${hub.addressRoot}.${hm.instanceId}`;
  const ownIds = new Set(config.site.hosts[hostKey]!.agentInstances.filter((i) => i.instanceId !== hm.instanceId).map((i) => i.instanceId));
  let othersHeard = 0;
  watcher.on('join', (session) => {
    void session.subscribe(
      `${hub.addressRoot}..feeds.heartbeat`,
      (args) => {
        const feed = (args?.[0] as unknown[] | undefined)?.[1] as { agent_address?: unknown; agent_class?: unknown } | undefined;
        const address = typeof feed?.agent_address === 'string' ? feed.agent_address : undefined;
        if (!address || seen.has(address) || address === hmAddress) return;
        seen.add(address);
        const id = address.slice(hub.addressRoot.length + 1);
        // agents of other systems on a shared router are not this command's to announce as up
        if (ownIds.has(id)) say(`up: ${id} (${String(feed?.agent_class ?? '?')})`);
        else if (othersHeard++ < MAX_OTHERS_LISTED) say(`also on the router, not started here: ${id} (${String(feed?.agent_class ?? '?')})`);
      },
      { match: 'wildcard' },
    );
  });
  void watcher.open().catch(() => undefined);

  const stopRequested = new Promise<string>((res) => {
    process.once('SIGINT', () => res('SIGINT'));
    process.once('SIGTERM', () => res('SIGTERM'));
  });
  const stopped = stopRequested.then((sig) => ({ kind: 'stop' as const, sig }));
  // The HostManager dying is not the system dying: the router and the agents stay up, and a new
  // HostManager re-adopts the agents. Only a config error, a clean exit or a crash loop ends `ocs up`.
  const restarts = new RestartBudget();
  let code = 0;
  for (;;) {
    const first = await Promise.race([hmRun.exited.then((exit) => ({ kind: 'exit' as const, exit })), stopped]);
    if (first.kind === 'stop') {
      say(`stopping (${first.sig}): ${hm.instanceId} stops its agents`);
      hmRun.child.kill('SIGINT');
      const timer = setTimeout(() => hmRun.child.kill('SIGKILL'), STOP_GRACE_MS);
      const exit = await hmRun.exited;
      clearTimeout(timer);
      say(`${hm.instanceId} stopped (${describeExit(exit)})`);
      break;
    }
    const exitCode = exitCodeOf(first.exit);
    if (first.exit.code === 0) {
      say(`${hm.instanceId} ended (${describeExit(first.exit)}); see ${hmLogPath}`);
      break;
    }
    if (first.exit.code === EXIT_LOCKED) {
      // a second system on this host: the first keeps running; say why and leave it alone
      say(`${hm.instanceId} not started: ${hmRun.lastStderrLine.replace(/^ocs agent: /, '') || `exit ${EXIT_LOCKED}`}`);
      code = EXIT_LOCKED;
      break;
    }
    const delayMs = first.exit.code === EXIT_CONFIG ? null : restarts.next(Date.now());
    if (delayMs === null) {
      const why = first.exit.code === EXIT_CONFIG ? 'a config error' : `${RESTART_LIMIT} exits within ${RESTART_WINDOW_MS / 1000} s`;
      say(`${hm.instanceId} ended (${describeExit(first.exit)}); not restarted after ${why}; see ${hmLogPath}`);
      code = exitCode;
      break;
    }
    say(`${hm.instanceId} ended (${describeExit(first.exit)}); the router and the agents stay up; restarting it in ${delayMs / 1000} s`);
    const waited = await Promise.race([new Promise<'go'>((res) => setTimeout(() => res('go'), delayMs)), stopped]);
    if (waited !== 'go') {
      say(`stopping (${waited.sig}) while ${hm.instanceId} was down`);
      break;
    }
    hmRun = startHostManager();
    say(`restarted ${hm.instanceId} (pid ${hmRun.child.pid}); it re-adopts its agents`);
  }
  await watcher.close();
  if (router) {
    await router.close();
    say('router stopped');
  }
  hmLog.end();
  return code;
}

interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface RunningChild {
  child: ChildProcess;
  exited: Promise<ChildExit>;
  lastStderrLine: string;
}

/** `killed by SIGKILL, exit 137` or `exit 3`, with the status a shell reports. */
export function describeExit(exit: ChildExit): string {
  if (exit.signal !== null) return `killed by ${exit.signal}, exit ${exitCodeOf(exit)}`;
  return `exit ${exit.code ?? 1}`;
}

/** A shell's exit status: the code, or 128 + the signal's number. */
export function exitCodeOf(exit: ChildExit): number {
  if (exit.signal !== null) return 128 + (osConstants.signals[exit.signal] ?? 0);
  return exit.code ?? 1;
}

/** Agents of other systems named at most, so a busy shared router does not flood the terminal. */
const MAX_OTHERS_LISTED = 20;
const RESTART_LIMIT = 5;
const RESTART_WINDOW_MS = 60_000;
const RESTART_DELAYS_MS = [1000, 2000, 4000, 8000];

/** Restart delays of the HostManager: growing, and none once RESTART_LIMIT exits fall within the window. */
export class RestartBudget {
  private readonly exits: number[] = [];

  /** The delay before the next start, or null when the budget is spent. */
  next(nowMs: number): number | null {
    this.exits.push(nowMs);
    while (this.exits.length > 0 && nowMs - this.exits[0]! > RESTART_WINDOW_MS) this.exits.shift();
    if (this.exits.length >= RESTART_LIMIT) return null;
    return RESTART_DELAYS_MS[Math.min(this.exits.length - 1, RESTART_DELAYS_MS.length - 1)]!;
  }
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
