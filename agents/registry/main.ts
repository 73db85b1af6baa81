import type { AgentLaunch } from '../../lib/agent/agent-class.js';
import { parseAgentArgs } from '../../lib/agent/agent-args.js';
import { createRuntime } from '../../lib/agent/run-agent.js';
import { RegistryAgent } from './agent.js';
import { RegistryArgsSchema } from './config.js';

const AGENT_CLASS = 'RegistryAgent';

/** `ocs agent` entry: runs the registry until shutdown, then writes its state file one last time. */
export async function main(launch: AgentLaunch): Promise<number> {
  const args = parseAgentArgs(launch.config.agentArgv, RegistryArgsSchema, AGENT_CLASS);
  const runtime = createRuntime(launch, AGENT_CLASS);
  const registry = new RegistryAgent(runtime, { addressRoot: launch.config.hub.addressRoot, args, requirePublisherIdentity: launch.config.site?.hub.identities ?? false });
  await registry.start();
  try {
    return await runtime.run();
  } finally {
    await registry.close();
  }
}
