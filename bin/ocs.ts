#!/usr/bin/env node
import { nodeVersionProblem } from '../lib/cli/node-version.js';

// checked before anything that needs a newer Node.js is loaded
const problem = nodeVersionProblem(process.versions.node);
if (problem !== null) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
const { runCli } = await import('../lib/cli/main.js');
const { AGENT_CLASSES } = await import('../agents/index.js');

runCli({ agentClasses: AGENT_CLASSES, argv: process.argv.slice(2) }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`ocs: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
