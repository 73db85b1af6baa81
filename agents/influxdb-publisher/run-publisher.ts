import type { AgentLaunch } from '../../lib/agent/agent-class.js';
import { createRuntime } from '../../lib/agent/run-agent.js';
import type { InfluxConnection } from '../../lib/influx/influx-publisher.js';
import { DEFAULT_CLOSE_DRAIN_MS } from '../../lib/influx/influx-writer.js';
import { floatPreservingJsonSerializer } from '../../lib/wamp/serializers.js';
import { InfluxDBAgent, type InfluxDBAgentSettings } from './agent.js';

/**
 * Runs an InfluxDB publisher (`InfluxDBAgent` or `InfluxDBAgentv2`) with its parsed arguments
 * and resolved connection: writes recorded feeds until shutdown, then flushes what is pending
 * for up to DEFAULT_CLOSE_DRAIN_MS. Its runtime decodes feed events keeping floats (`20.0`
 * stays a float field in InfluxDB).
 */
export async function runInfluxPublisher(
  launch: AgentLaunch,
  agentClass: string,
  args: InfluxDBAgentSettings,
  connection: InfluxConnection,
): Promise<number> {
  const runtime = createRuntime(launch, agentClass, { serializers: [floatPreservingJsonSerializer] });
  const agent = new InfluxDBAgent(runtime, { addressRoot: launch.config.hub.addressRoot, args, connection });
  const { target } = connection;
  runtime.logger.info(
    {
      url: target.url,
      ...(target.version === 1 ? { database: target.database, user: target.username ?? null } : { org: target.org, bucket: target.bucket }),
      initial_state: args.initial_state,
      max_buffer_points: args.max_buffer_points,
    },
    'influx publisher configured',
  );
  await agent.start();
  try {
    return await runtime.run();
  } finally {
    const stats = await agent.close({ drainTimeoutMs: DEFAULT_CLOSE_DRAIN_MS });
    runtime.logger.info({ written_points: stats.writtenPoints, pending_points: stats.pendingPoints, dropped_points: stats.droppedPoints }, 'influx publisher closed');
  }
}
