import type { AgentLaunch } from '../../lib/agent/agent-class.js';
import { parseAgentArgs } from '../../lib/agent/agent-args.js';
import { influxConnectionFromArgs } from '../../lib/influx/influx-publisher.js';
import { InfluxDBAgentArgsSchema, influxCredentials } from './config.js';
import { runInfluxPublisher } from './run-publisher.js';

const AGENT_CLASS = 'InfluxDBAgent';

/**
 * `ocs agent` entry of `InfluxDBAgent`: the target comes from its arguments (`--host`, `--port`,
 * `--database`, `--ssl`, or `--org`/`--bucket`/`--token` for 2.x) and INFLUXDB_USERNAME /
 * INFLUXDB_PASSWORD.
 */
export async function main(launch: AgentLaunch): Promise<number> {
  const args = parseAgentArgs(launch.config.agentArgv, InfluxDBAgentArgsSchema, AGENT_CLASS);
  return await runInfluxPublisher(launch, AGENT_CLASS, args, influxConnectionFromArgs(args, influxCredentials(launch.env)));
}
