#!/usr/bin/env node
// The `lenet5` executable (package.json "bin"). The commands live in cli/main.ts.
import { runCli } from './cli/main.js';

// `lenet5 ... | head` closes stdout early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await runCli(process.argv.slice(2));
