import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { projectRoot } from '../helpers/project-root.js';
import { formatReport, type BenchOptions, type BenchReport } from './lib/report.js';
import { killAllRouterProcesses } from '../helpers/router-process.js';

/**
 * `npm run bench [-- [--quick] [NAME...]]`: runs every test/bench/*.bench.ts (from the build in
 * dist/test/bench), or those whose name contains one of the NAME filters, prints a table per
 * report and writes test/bench/results/<name>.json in the source tree (<name>-partial.json when
 * `--case` picked a subset of the cases).
 */

interface BenchModule {
  name: string;
  run(options: BenchOptions): Promise<BenchReport>;
}

const USAGE = `usage: npm run bench -- [--quick] [--case TEXT]... [NAME...]
  NAME         a substring of a benchmark's name (file test/bench/NAME.bench.ts)
  --quick      short runs
  --case TEXT  only the cases whose title contains TEXT (e.g. --case "in flight")`;

function isBenchModule(m: Record<string, unknown>): m is Record<string, unknown> & BenchModule {
  return typeof m['name'] === 'string' && typeof m['run'] === 'function';
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const filters: string[] = [];
  const cases: string[] = [];
  let isQuick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') isQuick = true;
    else if (a === '--case' && i + 1 < argv.length) cases.push(argv[++i]!);
    else if (a.startsWith('-')) {
      process.stderr.write(`unknown option ${a}\n${USAGE}\n`);
      return 2;
    } else filters.push(a);
  }
  const options: BenchOptions = { quick: isQuick, cases };
  const benchDir = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(benchDir)
    .filter((f) => f.endsWith('.bench.js'))
    .sort();
  const resultsDir = join(projectRoot(), 'test', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });

  let failures = 0;
  let ran = 0;
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(benchDir, file)).href)) as Record<string, unknown>;
    if (!isBenchModule(mod)) {
      process.stderr.write(`${file}: does not export 'name' and 'run'\n`);
      failures++;
      continue;
    }
    if (filters.length && !filters.some((f) => mod.name.includes(f))) continue;
    ran++;
    process.stdout.write(`running ${mod.name}${options.quick ? ' (quick)' : ''} ...\n`);
    try {
      const report = await mod.run(options);
      // a subset of cases must not overwrite the complete report
      const path = join(resultsDir, cases.length ? `${mod.name}-partial.json` : `${mod.name}.json`);
      writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`${formatReport(report)}\n(written to ${path})\n\n`);
      if (report.failures.length) failures++;
    } catch (err) {
      failures++;
      process.stderr.write(`${mod.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    } finally {
      killAllRouterProcesses();
    }
  }
  if (ran === 0) {
    process.stderr.write(`no benchmark matches ${filters.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  return failures ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllRouterProcesses();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    killAllRouterProcesses();
    // load clients may hold sockets and timers that are not worth tracking down at exit
    process.exit(code);
  },
  (err: unknown) => {
    killAllRouterProcesses();
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
