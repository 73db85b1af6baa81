import type { CliContext } from './main.js';

export async function runRouterCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  process.stderr.write('ocs router: not available yet\n');
  return 1;
}
