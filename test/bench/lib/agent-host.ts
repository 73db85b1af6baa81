/**
 * Hosts N agents in one process, each its own WAMP session with the standard 1 Hz heartbeat and
 * five ops, for the heartbeat CPU benchmark. Prints `ready N` once every agent has joined.
 * usage: node agent-host.js URL N [ADDRESS_ROOT]
 */
import { AgentRuntime } from '../../../lib/agent/agent-runtime.js';
import { silentLogger } from '../../../lib/log.js';
import { jsonSerializer } from '../../../lib/wamp/serializers.js';

const [url, countText, root] = process.argv.slice(2);
const count = Number(countText);
const addressRoot = root ?? 'bench';
const BATCH = 50;

async function main(): Promise<void> {
  const runtimes: AgentRuntime[] = [];
  for (let i = 0; i < count; i += BATCH) {
    const joins: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) {
      const rt = new AgentRuntime({
        agentClass: 'BenchAgent',
        instanceId: `agent-${j}`,
        addressRoot,
        wampUrl: url!,
        realm: 'test_realm',
        crossbarTimeoutS: 0,
        serializers: [jsonSerializer],
        logger: silentLogger(),
      });
      for (const name of ['acq', 'count']) rt.registerProcess(name, { start: async () => [true, 'ok'], stop: async () => {} });
      for (const name of ['set_heartbeat', 'delay_task', 'calibrate']) rt.registerTask(name, { fn: async () => [true, 'ok'] });
      joins.push(new Promise((resolve) => rt.once('joined', resolve)));
      void rt.run({ shouldHandleSignals: false });
      runtimes.push(rt);
    }
    await Promise.all(joins);
  }
  process.stdout.write(`ready ${runtimes.length}\n`);
  process.once('SIGTERM', () => process.exit(0));
}

void main();
