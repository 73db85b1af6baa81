import type { CliContext } from './main.js';

export async function runClientCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  process.stderr.write('ocs client: not available yet\n');
  return 1;
}
