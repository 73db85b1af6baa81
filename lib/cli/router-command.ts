import { parseArgs } from 'node:util';
import { ConfigError, EXIT_CONFIG } from '../errors.js';
import { createRootLogger, stderrDestination } from '../log.js';
import type { RouterConfig } from '../router/config.js';
import { DEFAULT_REALM, defaultRouterConfig, startRouter } from '../router/index.js';
import { ROUTER_YOUNG_GEN_MB, capYoungGeneration } from '../router/young-generation.js';
import type { CliContext } from './main.js';

const USAGE = `usage: ocs router [--host 127.0.0.1] [--port 8001] [--realm test_realm] [--config FILE] [--log-level info]
                  [--young-gen-mb 8]

Runs the embedded WAMP router: WebSocket at ws://HOST:PORT/ws, HTTP caller bridge at
http://HOST:PORT/call. Without --config, realm test_realm (or --realm) lets anonymous clients
do everything. With --config, the YAML file declares realms, roles and auth; --realm names the
realm created when the file declares none. --port 0 picks a free port. --young-gen-mb caps V8's
young generation (less memory under heavy traffic); 0 leaves its growth to V8.`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

function usageError(message: string): number {
  process.stderr.write(`ocs router: ${message}\n${USAGE}\n`);
  return 2;
}

export async function runRouterCommand(argv: string[], _ctx: CliContext): Promise<number> {
  let values: { host?: string; port?: string; realm?: string; config?: string; 'log-level'?: string; 'young-gen-mb'?: string; help?: boolean };
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
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    return usageError((e as Error).message);
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

  let config: RouterConfig;
  try {
    config = values.config !== undefined ? (await import('../router/config.js')).loadRouterConfig(values.config, realm) : defaultRouterConfig(realm);
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
  await signaled;
  await running.close();
  uncap();
  return 0;
}
