import { z } from 'zod';
import type { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import type { Feed } from '../../lib/feeds/feed.js';
import type { OpSession } from '../../lib/ops/op-session.js';
import type { OpResult } from '../../lib/ops/op-spec.js';
import { unixSeconds, type Clock, systemClock } from '../../lib/clock.js';
import { WampFloat } from '../../lib/wamp/float.js';
import type { FakeDataArgs } from './config.js';


const AcqParamsSchema = z.object({ test_mode: z.boolean().default(false) });
const SetHeartbeatParamsSchema = z.object({ heartbeat: z.boolean().default(true) });
const DelayParamsSchema = z.object({
  delay: z.number().refine((x) => x >= 0).default(5),
  succeed: z.boolean().default(true),
});

const REPORT_INTERVAL_S = 1;

/**
 * The demo agent, at parity with OCS's FakeDataAgent: `acq` publishes random-walk temperatures
 * on the recorded feed `false_temperatures`, `count` counts seconds, `set_heartbeat` switches the
 * heartbeat (to test expiry), `delay_task` sleeps and can be aborted.
 */
export class FakeDataAgent {
  private job: 'acq' | '!acq' | undefined;
  private readonly channelNames: string[];
  private readonly sampleRateHz: number;
  private readonly feed: Feed;
  private readonly clock: Clock;

  constructor(
    private readonly runtime: AgentRuntime,
    args: FakeDataArgs,
    clock: Clock = systemClock,
  ) {
    this.clock = clock;
    this.channelNames = Array.from({ length: args.num_channels }, (_, i) => `channel_${String(i).padStart(2, '0')}`);
    this.sampleRateHz = Math.max(1e-6, args.sample_rate);
    this.feed = runtime.registerFeed('false_temperatures', {
      record: true,
      aggParams: { frame_length: args.frame_length },
      bufferTimeS: 1,
    });
    const startup = args.mode === 'acq';
    runtime.registerProcess('acq', {
      start: (session, params) => this.acq(session, params),
      stop: (session) => this.stopAcq(session),
      params: AcqParamsSchema,
      blocking: true,
      startup,
      docstring:
        'acq(test_mode=False)\n\n**Process** - Acquire data and write to the feed.\n\nParameters:\n    test_mode (bool, optional): Run the acq Process loop only once.\n\nNotes:\n    The most recent fake values are stored in the session data as\n    {"fields": {"channel_00": 0.1025, ...}, "timestamp": 1600448753.93}.',
    });
    runtime.registerProcess('count', {
      start: (session) => this.countSeconds(session),
      stop: (session) => this.stopCount(session),
      blocking: false,
      startup,
    });
    runtime.registerTask('set_heartbeat', {
      fn: (_session, params) => this.setHeartbeat(params.heartbeat),
      params: SetHeartbeatParamsSchema,
      docstring: 'set_heartbeat(heartbeat=True)\n\n**Task** - Set the state of the agent heartbeat.\n\nArgs:\n    heartbeat (bool, optional): True for on (the default), False for off',
    });
    runtime.registerTask('delay_task', {
      fn: (session, params) => this.delayTask(session, params),
      aborter: (session) => this.abortDelayTask(session),
      params: DelayParamsSchema,
      blocking: false,
      // as OCS's FakeDataAgent: level 2 under an access policy, so that access control can be tried on it
      minPrivs: runtime.ops.access.policy === 'none' ? 1 : 2,
      docstring:
        'delay_task(delay=5, succeed=True)\n\n**Task** (abortable) - Sleep (delay) for the requested number of seconds.\n\nArgs:\n    delay (float, optional): Time to wait before returning, in seconds. Defaults to 5.\n    succeed (bool, optional): Whether to return success or not. Defaults to True.',
    });
  }

  private nowS(): number {
    return unixSeconds(this.clock);
  }

  async acq(session: OpSession, params: z.infer<typeof AcqParamsSchema>): Promise<OpResult> {
    if (this.job !== undefined) return [false, `Conflict: "${this.job}" is already running.`];
    this.job = 'acq';
    session.setStatus('running');
    let temps = this.channelNames.map(() => 0.1);
    let nextTimestampS = this.nowS();
    let nextReportS = nextTimestampS + REPORT_INTERVAL_S;
    this.runtime.logger.info('starting acquisition');
    while (this.job === 'acq') {
      const nowS = this.nowS();
      const delayS = nextReportS - nowS;
      if (delayS > 0) {
        await session.sleep(Math.min(delayS, 1) * 1000);
        continue;
      }
      if (delayS / REPORT_INTERVAL_S < -3) {
        this.runtime.logger.info({ behindS: -delayS }, 'got behind in reporting; dropping fake data');
        nextTimestampS = nowS;
        nextReportS = nextTimestampS + REPORT_INTERVAL_S;
        continue;
      }
      const nData = Math.floor((nextReportS - nextTimestampS) * this.sampleRateHz);
      nextReportS += REPORT_INTERVAL_S;
      if (nData <= 0) {
        await session.sleep(100);
        continue;
      }
      const timestamps = Array.from({ length: nData }, (_, i) => nextTimestampS + i / this.sampleRateHz);
      temps = temps.map((t) => t + uniform() * 0.003);
      const data: Record<string, number[]> = {};
      const fields: Record<string, number> = {};
      this.channelNames.forEach((name, c) => {
        const samples = timestamps.map(() => temps[c]! + uniform() * 0.002);
        data[name] = samples;
        fields[name] = samples[samples.length - 1]!;
      });
      nextTimestampS += nData / this.sampleRateHz;
      this.feed.publishMessage({ block_name: 'temps', timestamps, data });
      Object.assign(session.data, { fields: floatValues(fields), timestamp: new WampFloat(timestamps[timestamps.length - 1]!) });
      if (params.test_mode) break;
    }
    this.feed.flushBuffer();
    this.job = undefined;
    return [true, 'Acquisition exited cleanly.'];
  }

  async stopAcq(session: OpSession): Promise<OpResult> {
    if (this.job === 'acq') {
      session.setStatus('stopping');
      this.job = '!acq';
      return [true, 'Requested process stop.'];
    }
    return [false, 'Failed to request process stop.'];
  }

  async countSeconds(session: OpSession): Promise<OpResult> {
    session.data = { counter: 0, last_update: new WampFloat(this.nowS()) };
    session.setStatus('running');
    while (session.status === 'running') {
      await session.sleep(1000);
      session.data['last_update'] = new WampFloat(this.nowS());
      session.data['counter'] = (session.data['counter'] as number) + 1;
    }
    return [true, 'Exited on request.'];
  }

  async stopCount(session: OpSession): Promise<OpResult> {
    session.setStatus('stopping');
    return [true, 'Requested process stop.'];
  }

  async setHeartbeat(isOn: boolean): Promise<OpResult> {
    this.runtime.setHeartbeat(isOn);
    const py = isOn ? 'True' : 'False';
    this.runtime.logger.info({ heartbeat: isOn }, 'heartbeat switched');
    return [true, `Set heartbeat_on: ${py}`];
  }

  async delayTask(session: OpSession, params: z.infer<typeof DelayParamsSchema>): Promise<OpResult> {
    const t0S = this.nowS();
    // floats stay floats on the wire, as OCS's Python sends them (a delay of 1 is 1.0)
    session.data = { requested_delay: new WampFloat(params.delay), delay_so_far: new WampFloat(0) };
    session.setStatus('running');
    let soFarS = 0;
    while (session.status === 'running') {
      soFarS = this.nowS() - t0S;
      session.data['delay_so_far'] = new WampFloat(soFarS);
      const sleepS = Math.min(0.5, params.delay - soFarS);
      if (sleepS < 0) break;
      await session.sleep(sleepS * 1000);
    }
    if (session.status !== 'running') return [false, `Aborted after ${soFarS.toFixed(1)} seconds`];
    return [params.succeed, `Exited after ${soFarS.toFixed(1)} seconds`];
  }

  async abortDelayTask(session: OpSession): Promise<OpResult> {
    if (session.status === 'running') session.setStatus('stopping');
    return [true, 'Requested abort.'];
  }
}

function uniform(): number {
  return Math.random() * 2 - 1;
}

/** Values that are floats in OCS's FakeDataAgent, marked so that a whole number still goes out as `1.0`. */
function floatValues(values: Record<string, number>): Record<string, WampFloat> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, new WampFloat(v)]));
}
