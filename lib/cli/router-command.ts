import { parseErrorLine } from './parse-error.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, EXIT_CONFIG } from '../errors.js';
import { createRootLogger, stderrDestination } from '../log.js';
import type { RouterConfig } from '../router/config.js';
import { DEFAULT_REALM, defaultRouterConfig, startRouter } from '../router/index.js';
import { ROUTER_YOUNG_GEN_MB, capYoungGeneration } from '../router/young-generation.js';
import { crossbarIdentityConfig, identityRouterConfigInput } from '../router/identity-profile.js';
import { IDENTITY_KEY_FILE_NAME, agentTicket, ensureIdentityKey } from '../site-config/identities.js';
import type { CliContext } from './main.js';

const USAGE = `usage: ocs router [--host 127.0.0.1] [--port 8001] [--realm test_realm] [--config FILE] [--log-level info]
                  [--young-gen-mb 8]
       ocs router --identities --site-file FILE [--key-file FILE] [--crossbar-config] [--host ...] [--port ...]

Runs the embedded WAMP router: WebSocket at ws://HOST:PORT/ws, HTTP caller bridge at
http://HOST:PORT/call. Without --config, realm test_realm (or --realm) lets anonymous clients
do everything. With --config, the YAML file declares realms, roles and auth; --realm names the
realm created when the file declares none. --port 0 picks a free port. --young-gen-mb caps V8's
young generation (less memory under heavy traffic); 0 leaves its growth to V8.

--identities runs the safe profile for the site file's agents (each may register and publish only
under its own address; anonymous clients call and subscribe): realm and address root from the
site's hub, one ticket principal per instance id, tickets derived from --key-file (default
./state/identity.key, made if missing; give the same file to the HostManagers as
OCS_IDENTITY_KEY_FILE). With --crossbar-config it prints the same profile as a crossbar
config.json instead of running.`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

function usageError(message: string): number {
  process.stderr.write(`ocs router: ${message}\n${USAGE}\n`);
  return 2;
}

/** Realm, address root and a ticket per instance id of the site file, for --identities (the site loader, zod and yaml, load only here). */
async function identityProfile(siteFile: string | undefined, keyFile: string): Promise<{ realm: string; addressRoot: string; tickets: Record<string, string> }> {
  if (siteFile === undefined) throw new ConfigError('--identities needs --site-file: its instance ids are the agents');
  const { loadSiteConfig } = await import('../site-config/load.js');
  const { siteInstanceIds } = await import('../site-config/site-lookup.js');
  const site = loadSiteConfig(siteFile);
  const key = ensureIdentityKey(keyFile);
  const tickets = Object.fromEntries([...siteInstanceIds(site)].map((id) => [id, agentTicket(key, id)]));
  return { realm: site.hub.wampRealm, addressRoot: site.hub.addressRoot, tickets };
}

export async function runRouterCommand(argv: string[], _ctx: CliContext): Promise<number> {
  let values: {
    host?: string;
    port?: string;
    realm?: string;
    config?: string;
    'log-level'?: string;
    'young-gen-mb'?: string;
    identities?: boolean;
    'site-file'?: string;
    'key-file'?: string;
    'crossbar-config'?: boolean;
    help?: boolean;
  };
  try {
    values = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        realm: { type: 'string' },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        'young-gen-mb': { type: 'string' },
        identities: { type: 'boolean' },
        'site-file': { type: 'string' },
        'key-file': { type: 'string' },
        'crossbar-config': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    return usageError(parseErrorLine(e));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const host = values.host ?? '127.0.0.1';
  const portText = values.port ?? '8001';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) return usageError(`--port must be an integer in [0, 65535], got '${portText}'`);
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) return usageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  const realm = values.realm ?? DEFAULT_REALM;
  const youngGenText = values['young-gen-mb'] ?? String(ROUTER_YOUNG_GEN_MB);
  const youngGenMb = Number(youngGenText);
  if (!/^\d+$/.test(youngGenText) || youngGenMb > 1024) return usageError(`--young-gen-mb must be an integer in [0, 1024], got '${youngGenText}'`);

  if (values.identities && values.config !== undefined) return usageError('--identities builds the config itself; give it or --config, not both');
  if (!values.identities && (values['site-file'] !== undefined || values['key-file'] !== undefined || values['crossbar-config'])) {
    return usageError('--site-file, --key-file and --crossbar-config go with --identities');
  }

  let config: RouterConfig;
  try {
    if (values.identities) {
      const profile = await identityProfile(values['site-file'], values['key-file'] ?? join('state', IDENTITY_KEY_FILE_NAME));
      if (values['crossbar-config']) {
        process.stdout.write(`${JSON.stringify(crossbarIdentityConfig(profile.realm, profile.addressRoot, profile.tickets, port), null, 2)}\n`);
        return 0;
      }
      config = (await import('../router/config.js')).parseRouterConfig(identityRouterConfigInput(profile.realm, profile.addressRoot, profile.tickets), 'identity profile');
    } else {
      config = values.config !== undefined ? (await import('../router/config.js')).loadRouterConfig(values.config, realm) : defaultRouterConfig(realm);
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`ocs router: invalid configuration\n${e.message}\n`);
      return EXIT_CONFIG;
    }
    throw e;
  }

  // stdout carries the one "listening" line; logs go to stderr as JSON lines
  const logger = createRootLogger({ level, name: 'ocs-router', destination: stderrDestination() });
  const uncap = capYoungGeneration(youngGenMb);
  let running;
  try {
    running = await startRouter({ host, port, config, logger });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    logger.fatal({ err }, 'router failed to start');
    process.stderr.write(`ocs router: cannot listen on ${host}:${port}: ${err.code ?? ''} ${err.message}\n`);
    uncap();
    return 1;
  }
  // handlers go in before the line is printed: whoever reads it may signal at once
  const signaled = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  process.stdout.write(`router listening on ${running.url}\n`);
  if (running.consoleUrl !== null) process.stdout.write(`console at ${running.consoleUrl}\n`);
  await signaled;
  await running.close();
  uncap();
  return 0;
}
