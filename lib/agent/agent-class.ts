/**
 * How the `ocs agent` command finds agent classes. The entry point (bin/ocs.ts) passes the
 * table from agents/index.ts, so lib/ never imports from agents/.
 */
import type { AgentConfig } from '../site-config/resolve-agent-config.js';
import type { OcsEnv } from '../site-config/env.js';
import type { Logger } from '../log.js';

export interface AgentLaunch {
  /** The instance's resolved configuration (site file, command line and environment merged). */
  config: AgentConfig;
  env: OcsEnv;
  logger: Logger;
}

export type AgentMain = (launch: AgentLaunch) => Promise<number>;

export interface AgentClassEntry {
  /** One line shown by `ocs agent` when listing known classes. */
  summary: string;
  /** Loads the class's entry function; it resolves with the process exit code. */
  load(): Promise<AgentMain>;
}

export type AgentClassTable = Readonly<Record<string, AgentClassEntry>>;
