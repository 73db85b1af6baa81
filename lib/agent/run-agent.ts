import type { z } from 'zod';
import { AgentRuntime, type AgentRuntimeOptions } from './agent-runtime.js';
import type { AgentLaunch } from './agent-class.js';
import { parseAgentArgs } from './agent-args.js';
import { jsonSerializer } from '../wamp/serializers.js';
import { ownTicket } from '../site-config/identities.js';

export interface AgentDefinition<S extends z.ZodType> {
  agentClass: string;
  /** The class's own arguments (site-file `arguments` merged with the command line). */
  argsSchema: S;
  /** Registers ops and feeds on the runtime; may keep state of its own. */
  setup(runtime: AgentRuntime, args: z.infer<S>): void | Promise<void>;
  /** Overrides for tests and benchmarks (heartbeat interval, clock). */
  runtimeOptions?: Partial<AgentRuntimeOptions>;
}

/** Builds the runtime for a launched instance. */
export function createRuntime(launch: AgentLaunch, agentClass: string, overrides: Partial<AgentRuntimeOptions> = {}): AgentRuntime {
  const { config } = launch;
  const instanceId = config.instance.instanceId;
  const ticket = ownTicket(launch.env, instanceId, config.site?.hub.identities ?? false);
  return new AgentRuntime({
    agentClass,
    instanceId: config.instance.instanceId,
    addressRoot: config.hub.addressRoot,
    wampUrl: config.hub.wampServer,
    realm: config.hub.wampRealm,
    accessPolicy: config.hub.accessPolicy,
    crossbarTimeoutS: config.crossbarTimeoutS,
    serializers: [jsonSerializer],
    ...(ticket !== undefined ? { auth: { authid: instanceId, method: 'ticket' as const, secret: ticket } } : {}),
    logger: launch.logger,
    ...overrides,
  });
}

/**
 * The body of every agent class's entry: parse the class's arguments (a ConfigError here makes
 * `ocs agent` exit 78), build the runtime, let the class register its ops, then serve until
 * shutdown. Resolves with the exit code.
 */
export async function runAgent<S extends z.ZodType>(launch: AgentLaunch, definition: AgentDefinition<S>): Promise<number> {
  const args = parseAgentArgs(launch.config.agentArgv, definition.argsSchema, definition.agentClass);
  const runtime = createRuntime(launch, definition.agentClass, definition.runtimeOptions);
  await definition.setup(runtime, args);
  return runtime.run();
}
