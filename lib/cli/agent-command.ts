import type { CliContext } from './main.js';
import { ConfigError, EXIT_CONFIG, EXIT_LOCKED, InstanceLockedError } from '../errors.js';
import { createRootLogger } from '../log.js';
import { readEnv } from '../site-config/env.js';
import { resolveAgentConfig } from '../site-config/resolve-agent-config.js';

const USAGE = `usage: ocs agent --site-file FILE --instance-id ID [site options] [agent arguments]

Runs one agent instance. The agent class comes from the instance's entry in the site file;
the instance's site-file arguments are merged with the command line (the command line wins).

site options: --site NAME | --site-file FILE, --site-host HOST, --site-hub URL, --site-http URL,
  --site-realm REALM, --instance-id ID, --address-root ROOT, --log-dir DIR, --working-dir DIR,
  --crossbar-timeout SECONDS (0 = never give up), --access-policy POLICY
environment: OCS_CONFIG_DIR, INSTANCE_ID, SITE_HUB, SITE_HTTP, SITE_HOST, CROSSBAR_TIMEOUT, LOGLEVEL;
  InfluxDB publishers: INFLUXDB_USERNAME, INFLUXDB_PASSWORD, and for InfluxDBAgentv2
  INFLUXDB_V2_URL, INFLUXDB_V2_TOKEN, INFLUXDB_V2_ORG, INFLUXDB_V2_BUCKET, INFLUXDB_V2_TIMEOUT, INFLUXDB_V2_VERIFY_SSL
exit codes: 0 stopped on request, 1 failure, 78 configuration error`;

export async function runAgentCommand(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n\nagent classes:\n${listClasses(ctx)}\n`);
    return 0;
  }
  try {
    const env = readEnv();
    const config = resolveAgentConfig({ argv, env });
    const logger = createRootLogger({ level: config.logLevel });
    const entry = ctx.agentClasses[config.instance.agentClass];
    if (!entry) {
      throw new ConfigError(
        `unknown agent class '${config.instance.agentClass}' for instance '${config.instance.instanceId}'; known classes: ${Object.keys(ctx.agentClasses).sort().join(', ')}`,
        { details: { agentClass: config.instance.agentClass } },
      );
    }
    const main = await entry.load();
    try {
      return await main({ config, env, logger });
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      logger.fatal({ err }, 'agent failed');
      return 1;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ocs agent: ${err.message}\n`);
      return err instanceof InstanceLockedError ? EXIT_LOCKED : EXIT_CONFIG;
    }
    throw err;
  }
}

function listClasses(ctx: CliContext): string {
  return Object.entries(ctx.agentClasses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, entry]) => `  ${name.padEnd(18)} ${entry.summary}`)
    .join('\n');
}
