/**
 * How the `ocs agent` command finds agent classes. The entry point (bin/ocs.ts) passes the
 * table from agents/index.ts, so lib/ never imports from agents/.
 */
export interface AgentLaunch {
  /** The instance's merged argument list (site-file arguments, then the command line). */
  argv: string[];
}

export interface AgentClassEntry {
  /** One line shown by `ocs agent` when listing known classes. */
  summary: string;
  /** Loads the class's entry function; it resolves with the process exit code. */
  load(): Promise<(launch: AgentLaunch) => Promise<number>>;
}

export type AgentClassTable = Readonly<Record<string, AgentClassEntry>>;
