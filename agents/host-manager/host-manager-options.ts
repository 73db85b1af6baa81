import type { AgentRuntime } from '../../lib/agent/agent-runtime.js';
import type { Clock } from '../../lib/clock.js';
import type { AccessPolicy } from '../../lib/site-config/access-policy.js';
import type { SiteConfig } from '../../lib/site-config/schema.js';
import type { ProcessControl } from '../../lib/supervisor/process-control.js';
import type { Supervisor, SupervisorOptions } from '../../lib/supervisor/supervisor.js';
import type { HostManagerArgs } from './config.js';
import type { HostManagerMetrics } from './hm-metrics.js';

/** What a HostManager is made with and what it tells about itself. */

/** The parts of AgentRuntime the HostManager uses. */
export type HostManagerHost = Pick<AgentRuntime, 'address' | 'logger' | 'ops' | 'registerTask' | 'registerProcess' | 'registerFeed' | 'subscribe' | 'call' | 'shutdown'> & {
  on(event: 'joined', listener: (isFirstJoin: boolean) => void): unknown;
};

export interface HostManagerOptions {
  args: HostManagerArgs;
  /** The HostManager's own instance id (e.g. hm-localhost). */
  instanceId: string;
  addressRoot: string;
  /** Absolute site file path; children are launched with it and reloads read it. */
  siteFile: string;
  /** The site as loaded at startup. */
  site: SiteConfig;
  /** The `hosts:` key this HostManager manages. */
  hostKey: string;
  workingDir: string;
  /** Directory of the children's stdout/stderr files (`--log-dir`); null: `<state-dir>/logs-NN`. */
  logDir: string | null;
  accessPolicy: AccessPolicy;
  /** argv before `agent …` for each child, e.g. [node, dist/bin/ocs.js]. */
  launcher: readonly string[];
  /** The environment children start from (lib/site-config `childEnv`). */
  baseEnv: Readonly<Record<string, string>>;
  /** The site's identity key (agent identities): each child is given its own ticket, never the key. */
  identityKey?: string;
  /** Prometheus figures, fed by every supervisor this HostManager opens (hm-metrics.ts). */
  metrics?: HostManagerMetrics;
  /** Agent classes `ocs agent` can run; null: no check. */
  knownClasses: ReadonlySet<string> | null;
  loadSite?: (path: string) => SiteConfig;
  clock?: Clock;
  processControl?: ProcessControl;
  /** Overrides for tests and benchmarks (persist debounce, history, pid). */
  supervisorOptions?: Partial<SupervisorOptions>;
}


/** What the HostManager tells an orchestrator about its supervisor. */
export interface HostManagerEvents {
  /** A supervisor was opened (startup, or `manager` started again): subscribe to its events here. */
  opened: [supervisor: Supervisor];
  /** The supervisor was closed (manager stopped, shutdown). */
  closed: [];
}
