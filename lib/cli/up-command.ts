import type { CliContext } from './main.js';

export async function runUpCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  process.stderr.write('ocs up: not available yet\n');
  return 1;
}
