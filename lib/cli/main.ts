import type { AgentClassTable } from '../agent/agent-class.js';

export interface CliContext {
  /** The agent classes `ocs agent` can run, by agent-class name (given by the entry point). */
  agentClasses: AgentClassTable;
  argv: string[];
}

export type CommandRunner = (argv: string[], ctx: CliContext) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandRunner> }> = {
  router: { summary: 'run the embedded WAMP router', load: async () => (await import('./router-command.js')).runRouterCommand },
  agent: { summary: 'run one agent instance from the site file', load: async () => (await import('./agent-command.js')).runAgentCommand },
  client: { summary: 'scan, listen, call and query agents', load: async () => (await import('./client-command.js')).runClientCommand },
  up: { summary: 'start the router (if needed), the HostManager and its agents', load: async () => (await import('./up-command.js')).runUpCommand },
  top: { summary: "one host's health from /metrics: router, registry, HostManager", load: async () => (await import('./top-command.js')).runTopCommand },
};

export function usage(): string {
  const lines = ['usage: ocs <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', "run 'ocs <command> --help' for a command's options");
  return lines.join('\n');
}

/** Dispatches `ocs <command> ...`; resolves with the process exit code. */
export async function runCli(ctx: CliContext): Promise<number> {
  const [name, ...rest] = ctx.argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`ocs: unknown command '${name}'\n${usage()}\n`);
    return 2;
  }
  const runner = await command.load();
  return runner(rest, ctx);
}
