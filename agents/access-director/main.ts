import { dirname, isAbsolute, join } from 'node:path';
import type { AgentLaunch } from '../../lib/agent/agent-class.js';
import { parseAgentArgs } from '../../lib/agent/agent-args.js';
import { createRuntime } from '../../lib/agent/run-agent.js';
import { AccessDirector } from './agent.js';
import { AccessDirectorArgsSchema } from './config.js';

const AGENT_CLASS = 'AccessDirector';

/**
 * `ocs agent` entry. `--config-file` is relative to the site file's folder; the Director's own
 * policy is always `none` (it cannot wait for rules from itself). A broken config file is a
 * ConfigError here, so `ocs agent` exits 78 naming the file and the path inside it.
 */
export async function main(launch: AgentLaunch): Promise<number> {
  const args = parseAgentArgs(launch.config.agentArgv, AccessDirectorArgsSchema, AGENT_CLASS);
  const base = launch.config.siteFile === null ? launch.config.workingDir : dirname(launch.config.siteFile);
  const configFile = isAbsolute(args.config_file) ? args.config_file : join(base, args.config_file);
  const runtime = createRuntime(launch, AGENT_CLASS, { accessPolicy: 'none' });
  new AccessDirector(runtime, configFile);
  return runtime.run();
}
