import type { CliContext } from './main.js';

export async function runAgentCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  process.stderr.write('ocs agent: not available yet\n');
  return 1;
}
