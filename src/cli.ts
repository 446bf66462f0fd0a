#!/usr/bin/env node
// The `lenet5` executable (package.json "bin"). The commands live in cli/main.ts.
import { runCli } from './cli/main.js';

// `lenet5 ... | head` closes stdout early, a closed terminal fails writes with EIO: not errors
// of the command. `lenet5 train` listens too, to save before it stops (cli/train.ts).
const gone = (e: NodeJS.ErrnoException) => e.code === 'EPIPE' || e.code === 'EIO';
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (!gone(e)) throw e;
  if (process.stdout.listenerCount('error') === 1) process.exit(0);
});
process.stderr.on('error', (e: NodeJS.ErrnoException) => {
  if (!gone(e)) throw e;
});

process.exitCode = await runCli(process.argv.slice(2));
