/**
 * Load generator for the InfluxDB publisher benchmark: N simulated FakeDataAgents in one
 * process, each its own WAMP session (AgentRuntime, 1 Hz heartbeat) with the recorded feed
 * `false_temperatures`. Once a second each agent publishes one block of RATE samples of CHANNELS
 * float channels, as FakeDataAgent does with its 1 s buffer; the agents are spread over the
 * second. Prints `ready N` once every agent has joined, then `published P` (points so far)
 * every second, and a last `published P` on SIGTERM before exiting.
 * usage: node fake-feed-load.js URL REALM ADDRESS_ROOT AGENTS RATE_HZ CHANNELS
 */
import { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import type { Feed } from '../../lib/feeds/feed.js';
import { silentLogger } from '../../lib/log.js';
import { jsonSerializer } from '../../lib/wamp/serializers.js';

const [url, realm, addressRoot, agentsText, rateText, channelsText] = process.argv.slice(2);
const agentCount = Number(agentsText);
const rateHz = Number(rateText);
const channelCount = Number(channelsText);
const JOIN_BATCH = 25;
const REPORT_INTERVAL_MS = 1000;

const channels = Array.from({ length: channelCount }, (_, c) => `channel_${String(c).padStart(2, '0')}`);
let publishedPoints = 0;

interface SimulatedAgent {
  runtime: AgentRuntime;
  feed: Feed;
  nextTimestampS: number;
  temps: number[];
}

function publishSecond(agent: SimulatedAgent): void {
  const timestamps = Array.from({ length: rateHz }, (_, k) => agent.nextTimestampS + k / rateHz);
  agent.nextTimestampS += 1;
  const data: Record<string, number[]> = {};
  channels.forEach((name, c) => {
    agent.temps[c] = agent.temps[c]! + (Math.random() * 2 - 1) * 0.003;
    data[name] = timestamps.map(() => agent.temps[c]! + (Math.random() * 2 - 1) * 0.002);
  });
  agent.feed.publishMessage({ block_name: 'temps', timestamps, data });
  publishedPoints += rateHz;
}

async function main(): Promise<void> {
  const agents: SimulatedAgent[] = [];
  for (let i = 0; i < agentCount; i += JOIN_BATCH) {
    const joins: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(agentCount, i + JOIN_BATCH); j++) {
      const runtime = new AgentRuntime({
        agentClass: 'FakeDataAgent',
        instanceId: `fake-data${j + 1}`,
        addressRoot: addressRoot!,
        wampUrl: url!,
        realm: realm!,
        crossbarTimeoutS: 0,
        serializers: [jsonSerializer],
        logger: silentLogger(),
      });
      const feed = runtime.registerFeed('false_temperatures', { record: true, aggParams: { frame_length: 60 }, bufferTimeS: 0 });
      joins.push(new Promise((resolve) => runtime.once('joined', resolve)));
      void runtime.run({ shouldHandleSignals: false });
      agents.push({ runtime, feed, nextTimestampS: 0, temps: channels.map(() => 0.1) });
    }
    await Promise.all(joins);
  }
  process.stdout.write(`ready ${agents.length}\n`);

  const startS = Date.now() / 1000;
  const timers: NodeJS.Timeout[] = [];
  agents.forEach((agent, i) => {
    const offsetMs = (i * 1000) / agents.length;
    agent.nextTimestampS = startS + offsetMs / 1000;
    timers.push(
      setTimeout(() => {
        publishSecond(agent);
        timers.push(setInterval(() => publishSecond(agent), 1000));
      }, offsetMs),
    );
  });
  const report = setInterval(() => process.stdout.write(`published ${publishedPoints}\n`), REPORT_INTERVAL_MS);

  process.once('SIGTERM', () => {
    for (const t of timers) clearInterval(t);
    clearInterval(report);
    process.stdout.write(`published ${publishedPoints}\n`, () => {
      void Promise.all(agents.map((a) => a.runtime.shutdown('load over'))).finally(() => process.exit(0));
    });
  });
}

void main();
