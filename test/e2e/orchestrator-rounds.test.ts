/**
 * No double start over 25 randomized kill/restart rounds, with real processes: three
 * HostManagers as pseudo-hosts on one embedded router (`ocs router`, a process of its own) and one
 * cluster service. Each round picks, with a seeded random source, one of: SIGKILL of a live
 * host's HostManager and its children, an orderly stop (SIGTERM) of a live host (the holder half
 * of the time), or a restart of a host that is down; then
 * waits until the cluster settles (every live host's view shows the same single RUNNING holder
 * and exactly one process of the agent runs).
 *
 * The counted starts (the supervisors' transitions to STARTING, from their history files) must be
 * exactly one per round that took the holder down, and none otherwise; a sampler reads /proc
 * every 100 ms and records the most copies of the agent ever seen at once, which must be 1.
 *
 * The same algorithm runs 150 rounds per seed on a fake clock in
 * test/unit/orchestrator/orchestrator-random.test.ts; here the rounds are the real processes,
 * signals, history files and /proc, so 25 of them (about 80 s) cover what only real processes
 * show. To keep them short on two cores, the Registry expires agents after 3 s
 * (instead of 5 s) and the HostManagers use a 2 s grace and a 1 s ready period: the same
 * algorithm on shorter timers. The failover time with the real expiry is asserted in
 * orchestrator-cluster.test.ts and measured by the orchestrator benchmark.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRouterProcess, type TestRouter } from '../helpers/router.js';
import { assertBuilt } from '../integration/supervisor/process-fixtures.js';
import { Cluster, HOSTS } from '../integration/orchestrator/cluster-fixtures.js';
import { seededRandom } from '../helpers/random.js';

const ROUNDS = 25;
const SEED = 20_240_601;
const SETTLE_TIMEOUT_MS = 45_000;

let router: TestRouter;
let cluster: Cluster;

beforeAll(async () => {
  assertBuilt();
  router = await startRouterProcess();
  cluster = new Cluster({ router, hmArgs: ['--failover-grace', 2, '--ready-period', 1], registryArgs: ['--agent-timeout', 3] });
  await cluster.start();
}, 120_000);

afterAll(() => cluster?.close(), 60_000);

describe('orchestrator: randomized kill/restart rounds (real processes)', () => {
  it(`starts the service exactly once per lost holder over ${ROUNDS} rounds, never twice at once`, { timeout: 420_000 }, async () => {
    const random = seededRandom(SEED);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    let holder = await cluster.settledHolder('initial placement', SETTLE_TIMEOUT_MS);
    let expectedStarts = 1;
    let holderLosses = 0;
    expect(cluster.totalStarts()).toBe(expectedStarts);
    const log: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const up = cluster.upHosts();
      const down = HOSTS.filter((h) => !up.includes(h));
      let action: string;
      if (down.length > 0 && (up.length === 1 || random() < 0.45)) {
        const host = pick(down);
        action = `restart ${host}`;
        await cluster.startHost(host);
      } else {
        const host = up.includes(holder) && random() < 0.5 ? holder : pick(up);
        const isOrderly = random() < 0.25;
        action = `${isOrderly ? 'stop' : 'kill'} ${host}${host === holder ? ' (holder)' : ''}`;
        if (isOrderly) await cluster.stopHost(host);
        else await cluster.killHost(host);
        if (host === holder) {
          expectedStarts += 1;
          holderLosses += 1;
        }
      }
      holder = await cluster.settledHolder(`round ${round}: ${action}`, SETTLE_TIMEOUT_MS);
      log.push(`${round}: ${action} -> ${holder}`);
      expect(cluster.totalStarts(), `round ${round} (${action}); starts ${JSON.stringify(cluster.starts())}\n${log.join('\n')}`).toBe(expectedStarts);
    }
    expect(cluster.mostCopies, log.join('\n')).toBe(1);
    // The rounds exercised failovers (the holder is the target of about a third of them).
    expect(holderLosses, log.join('\n')).toBeGreaterThanOrEqual(4);
  });
});
