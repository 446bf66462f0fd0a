#!/usr/bin/env node
// The `lenet5` executable (package.json "bin"). The commands live in cli/main.ts.
import { runCli } from './cli/main.js';

// `lenet5 ... | head` closes stdout early, a closed terminal fails writes with EIO: not errors
// of the command. `lenet5 train` listens too, to save before it stops (cli/train.ts).
const gone = (e: NodeJS.ErrnoException) => e.code === 'EPIPE' || e.code === 'EIO';
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (!gone(e)) throw e;
  if (process.stdout.listenerCount('error') > 1) return; // the command handles it
  // A closed terminal: end as a hangup (a normal exit restores the terminal, which fails there
  // and makes Node 20 abort). A closed pipe: nothing more to say.
  if (e.code === 'EIO') process.kill(process.pid, 'SIGHUP');
  else process.exit(0);
});
process.stderr.on('error', (e: NodeJS.ErrnoException) => {
  if (!gone(e)) throw e;
});

process.exitCode = await runCli(process.argv.slice(2));
