import type { AgentLaunch } from '../../lib/agent/agent-class.js';
import { parseAgentArgs } from '../../lib/agent/agent-args.js';
import { InfluxDBAgentv2ArgsSchema, influxV2Connection } from './config.js';
import { runInfluxPublisher } from './run-publisher.js';

const AGENT_CLASS = 'InfluxDBAgentv2';

/**
 * `ocs agent` entry of `InfluxDBAgentv2`: InfluxDB 2.x API, target from INFLUXDB_V2_URL,
 * INFLUXDB_V2_TOKEN, INFLUXDB_V2_ORG and INFLUXDB_V2_BUCKET (`--token`, `--org`, `--bucket`
 * override); a missing one is a ConfigError (exit 78) before anything connects.
 */
export async function main(launch: AgentLaunch): Promise<number> {
  const args = parseAgentArgs(launch.config.agentArgv, InfluxDBAgentv2ArgsSchema, AGENT_CLASS);
  return await runInfluxPublisher(launch, AGENT_CLASS, args, influxV2Connection(launch.env, args));
}
