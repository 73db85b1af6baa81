#!/usr/bin/env node
import { runCli } from '../lib/cli/main.js';
import { AGENT_CLASSES } from '../agents/index.js';

runCli({ agentClasses: AGENT_CLASSES, argv: process.argv.slice(2) }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`ocs: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
