import type { AgentLaunch } from '../../lib/agent/agent-class.js';
import { parseAgentArgs } from '../../lib/agent/agent-args.js';
import { createRuntime } from '../../lib/agent/run-agent.js';
import { serveAgentMetrics } from '../../lib/metrics/agent-metrics.js';
import { registerRegistryMetrics } from '../../lib/registry/registry-metrics.js';
import { RegistryAgent } from './agent.js';
import { RegistryArgsSchema } from './config.js';

const AGENT_CLASS = 'RegistryAgent';

/** `ocs agent` entry: runs the registry until shutdown, then writes its state file one last time. */
export async function main(launch: AgentLaunch): Promise<number> {
  const args = parseAgentArgs(launch.config.agentArgv, RegistryArgsSchema, AGENT_CLASS);
  const runtime = createRuntime(launch, AGENT_CLASS);
  const registry = new RegistryAgent(runtime, { addressRoot: launch.config.hub.addressRoot, args, requirePublisherIdentity: launch.config.site?.hub.identities ?? false });
  await registry.start();
  const metrics = await serveAgentMetrics({
    prefix: 'ocs_registry_',
    port: args.metrics_port,
    host: args.metrics_host,
    logger: runtime.logger,
    register: (r) => registerRegistryMetrics(r, registry.figures()),
  });
  try {
    return await runtime.run();
  } finally {
    await metrics?.close();
    await registry.close();
  }
}
