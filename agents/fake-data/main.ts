import type { AgentLaunch } from '../../lib/agent/agent-class.js';
import { runAgent } from '../../lib/agent/run-agent.js';
import { FakeDataAgent } from './agent.js';
import { FakeDataArgsSchema } from './config.js';

export function main(launch: AgentLaunch): Promise<number> {
  return runAgent(launch, {
    agentClass: 'FakeDataAgent',
    argsSchema: FakeDataArgsSchema,
    setup: (runtime, args) => {
      new FakeDataAgent(runtime, args);
    },
  });
}
