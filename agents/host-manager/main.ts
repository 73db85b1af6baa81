import { fileURLToPath } from 'node:url';
import type { AgentLaunch } from '../../lib/agent/agent-class.js';
import { parseAgentArgs } from '../../lib/agent/agent-args.js';
import { createRuntime } from '../../lib/agent/run-agent.js';
import { ConfigError } from '../../lib/errors.js';
import { childEnv } from '../../lib/site-config/env.js';
import { AGENT_TICKET_VAR, IDENTITY_KEY_FILE_VAR, readIdentityKey } from '../../lib/site-config/identities.js';
import { AGENT_CLASS_NAMES } from '../class-names.js';
import { HostManager } from './agent.js';
import { HostManagerArgsSchema } from './config.js';
import { HostManagerMetrics } from './hm-metrics.js';
import { serveAgentMetrics } from '../../lib/metrics/agent-metrics.js';

const AGENT_CLASS = 'HostManager';
/** A signal sent to the process group and forwarded by a parent arrives twice: one shutdown. */
const DUPLICATE_SIGNAL_MS = 1000;

/** The command that runs `ocs` again for the children: this node and this build's bin/ocs.js. */
function ocsLauncher(): string[] {
  return [process.execPath, fileURLToPath(new URL('../../bin/ocs.js', import.meta.url))];
}

/**
 * `ocs agent` entry. The supervisor is opened before the router is reached (a second
 * HostManager on the same state dir and index exits 75 here). SIGINT/SIGTERM stop the manager,
 * and with it the children, while the agent is still on the router, then leave; a second
 * SIGINT/SIGTERM (more than a second after the first) SIGKILLs every child group and exits 1.
 * SIGHUP reloads the site file.
 */
export async function main(launch: AgentLaunch): Promise<number> {
  const { config } = launch;
  const args = parseAgentArgs(config.agentArgv, HostManagerArgsSchema, AGENT_CLASS);
  if (config.siteFile === null || config.site === null || config.host === null) {
    throw new ConfigError('HostManager needs a site file (--site-file or --site): its children are the site file entries of its host');
  }
  const runtime = createRuntime(launch, AGENT_CLASS);
  let hmRef: HostManager | undefined;
  let metrics: HostManagerMetrics | undefined;
  const metricsServer = await serveAgentMetrics({
    prefix: 'ocs_hostmanager_',
    port: args.metrics_port,
    host: args.metrics_host ?? '127.0.0.1',
    logger: runtime.logger,
    register: (r) => {
      metrics = new HostManagerMetrics(r, () => hmRef?.supervisor?.summaries() ?? []);
    },
  });
  if (args.docker_compose !== undefined) runtime.logger.warn({ docker_compose: args.docker_compose }, 'docker compose files are not managed by this HostManager; ignored');
  const hm = new HostManager(runtime, {
    args,
    instanceId: config.instance.instanceId,
    addressRoot: config.hub.addressRoot,
    siteFile: config.siteFile,
    site: config.site,
    hostKey: config.host,
    workingDir: config.workingDir,
    logDir: config.logDir,
    accessPolicy: config.hub.accessPolicy,
    launcher: ocsLauncher(),
    // INSTANCE_ID would name the wrong instance for a child (its --instance-id wins anyway);
    // under agent identities a child gets its own ticket, never the key nor this process's ticket.
    baseEnv: childEnv({ INSTANCE_ID: undefined, [IDENTITY_KEY_FILE_VAR]: undefined, [AGENT_TICKET_VAR]: undefined }),
    ...(launch.env.identityKeyFile !== undefined ? { identityKey: readIdentityKey(launch.env.identityKeyFile) } : {}),
    knownClasses: new Set<string>(AGENT_CLASS_NAMES),
    ...(metrics !== undefined ? { metrics } : {}),
  });
  hmRef = hm;
  await hm.open();

  let isForced = false;
  let firstStopAtMs: number | null = null;
  const onStop = (signal: NodeJS.Signals): void => {
    if (firstStopAtMs !== null && Date.now() - firstStopAtMs < DUPLICATE_SIGNAL_MS) {
      runtime.logger.info({ signal }, 'stop signal repeated within a second: ignored (shutdown under way)');
      return;
    }
    if (hm.isShuttingDown) {
      isForced = true;
      const killed = hm.forceKill();
      runtime.logger.warn({ signal, killed }, 'second stop signal: SIGKILL to every child');
      return;
    }
    firstStopAtMs = Date.now();
    void hm.shutdown(`received ${signal}`);
  };
  const onHangup = (): void => {
    const result = hm.reloadConfig();
    runtime.logger.info({ ok: result.ok }, `SIGHUP: ${result.message}`);
  };
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ['SIGINT', () => onStop('SIGINT')],
    ['SIGTERM', () => onStop('SIGTERM')],
    ['SIGHUP', onHangup],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    const code = await runtime.run({ shouldHandleSignals: false });
    // The router went away for good (or the instance id is taken): end supervision as on a stop.
    await hm.closeSupervisor();
    hm.liveness.stop();
    return isForced ? 1 : code;
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    await metricsServer?.close();
  }
}
