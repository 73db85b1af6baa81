import { groupArguments, type ArgumentGroup } from './arguments.js';

/**
 * Merges a site file's (flattened) arguments with the command line, per OCS's ArgContainer:
 * the command line wins per whole flag. A flag given on the command line replaces every
 * occurrence of it in the site arguments, at the place of the first one; flags only on the
 * command line follow, in their order. `--mode=acq` and `--mode acq` are the same flag.
 *
 * Two deliberate differences from OCS: a flag repeated within one source keeps all its
 * occurrences (OCS keeps only the last, which breaks append-style flags), and leading
 * positional values in the site arguments survive unless the command line has its own
 * (OCS always replaces them, even with nothing).
 */
export function mergeArguments(siteArgs: readonly string[], cliArgv: readonly string[]): string[] {
  const site = groupArguments(siteArgs);
  const cli = groupArguments(cliArgv);
  const cliByFlag = new Map<string | null, ArgumentGroup[]>();
  for (const g of cli) cliByFlag.set(g.flag, [...(cliByFlag.get(g.flag) ?? []), g]);

  const out: string[] = [];
  const emitted = new Set<string | null>();
  const positional = cliByFlag.get(null) ?? site.filter((g) => g.flag === null);
  for (const g of positional) out.push(...g.tokens);
  emitted.add(null);

  for (const g of site) {
    if (emitted.has(g.flag)) continue;
    const override = cliByFlag.get(g.flag);
    if (override === undefined) {
      out.push(...g.tokens);
      continue;
    }
    for (const o of override) out.push(...o.tokens);
    emitted.add(g.flag);
  }
  for (const g of cli) {
    if (emitted.has(g.flag)) continue;
    out.push(...g.tokens);
  }
  return out;
}
