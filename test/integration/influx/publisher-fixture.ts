/**
 * What the InfluxDB publisher tests (InfluxDBAgent, InfluxDBAgentv2) share: a feed source inside
 * the test (an AgentRuntime whose recorded feeds publish known values), the teardown of a
 * publisher process, and InfluxQL reads of what landed.
 */
import { AgentRuntime } from '../../../lib/agent/agent-runtime.js';
import { silentLogger } from '../../../lib/log.js';
import type { EncodedSession } from '../../../lib/ops/op-session.js';
import { jsonSerializer } from '../../../lib/wamp/serializers.js';
import { spawnOcs, type AgentProcess } from '../../helpers/agent-process.js';
import type { RunningInfluxd } from '../../helpers/influxd.js';
import type { TestRouter } from '../../helpers/router.js';
import { writeSiteFile, type SiteInstance, type TestSite } from '../../helpers/site-file.js';
import { waitFor } from '../../helpers/wait.js';

/** A site file for `router` whose host `localhost` runs `instances`. */
export function writeLocalhostSite(router: TestRouter, instances: SiteInstance[]): TestSite {
  return writeSiteFile({ url: router.url, httpUrl: router.httpUrl, hosts: { localhost: { 'agent-instances': instances } } });
}

export interface PublisherAndSource {
  /** The publisher's `ocs agent` process, joined and registered. */
  publisher: AgentProcess;
  /** Agent `source` of the site's address root, inside the test. */
  source: AgentRuntime;
}

/** Runs `ocs agent` for publisher `instanceId` (with `env` added) and joins the feed source. */
export async function startPublisherAndSource(site: TestSite, router: TestRouter, instanceId: string, env: Record<string, string> = {}): Promise<PublisherAndSource> {
  const publisher = spawnOcs(['agent', '--site-file', site.file, '--instance-id', instanceId], env);
  await publisher.waitForLog('joined and registered', 30_000);
  const source = new AgentRuntime({
    agentClass: 'TestSource',
    instanceId: 'source',
    addressRoot: site.addressRoot,
    wampUrl: router.url,
    realm: router.realm,
    crossbarTimeoutS: 0,
    serializers: [jsonSerializer],
    logger: silentLogger(),
  });
  const joined = new Promise((resolve) => source.once('joined', resolve));
  void source.run({ shouldHandleSignals: false });
  await joined;
  return { publisher, source };
}

/** Shuts the source down, then sends SIGTERM to the publisher if it runs and waits for its exit (its final flush). */
export async function stopPublisherAndSource(running: Partial<PublisherAndSource>): Promise<void> {
  await running.source?.shutdown('tests over');
  const { publisher } = running;
  if (!publisher || publisher.child.exitCode !== null) return;
  publisher.kill('SIGTERM');
  await publisher.exited;
}

/** The rows of the first series of an InfluxQL query (`[]` when there is none). */
export async function influxRows(influx: RunningInfluxd, q: string, db: string): Promise<unknown[][]> {
  const [result] = await influx.query(q, db);
  return result?.series?.[0]?.values ?? [];
}

/** How many points of measurement `m` and tag `feed` have `field`. */
export async function influxPointCount(influx: RunningInfluxd, db: string, m: string, field: string, feed: string): Promise<number> {
  const [row] = await influxRows(influx, `SELECT count("${field}") FROM "${m}" WHERE "feed" = '${feed}'`, db);
  return row ? Number(row[1]) : 0;
}

/** The field keys of measurement `m` with their InfluxDB types. */
export async function influxFieldTypes(influx: RunningInfluxd, db: string, m: string): Promise<Record<string, string>> {
  return Object.fromEntries((await influxRows(influx, `SHOW FIELD KEYS FROM "${m}"`, db)).map(([k, t]) => [String(k), String(t)]));
}

/** Runs FakeDataAgent `instanceId` until `countPoints()` reaches `minPoints`, then stops it; throws unless it exits 0. */
export async function runFakeDataUntil(site: TestSite, instanceId: string, countPoints: () => Promise<number>, minPoints = 10): Promise<void> {
  const fake = spawnOcs(['agent', '--site-file', site.file, '--instance-id', instanceId]);
  await fake.waitForLog('starting acquisition', 30_000);
  await waitFor(async () => (await countPoints()) >= minPoints, { timeoutMs: 30_000, what: `${minPoints} points of ${instanceId} in influx` });
  fake.kill('SIGTERM');
  const code = await fake.exited;
  if (code !== 0) throw new Error(`${instanceId} exited ${code}: ${fake.stderr()}`);
}

/** Polls a `record` session until `check` holds; the failure message shows the last one seen. */
export async function waitForSession(
  status: () => Promise<EncodedSession>,
  check: (s: EncodedSession) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<EncodedSession> {
  let last: EncodedSession | undefined;
  return await waitFor(
    async () => {
      last = await status();
      return check(last) ? last : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `${what} (last: ${JSON.stringify(last?.data)} ${last?.status})` },
  );
}
