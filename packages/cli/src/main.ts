/** The fleetctl executable (bin/fleetctl.js loads its compiled form, dist/main.js). */
import { processIo } from './cli-io.js';
import { runCli } from './program.js';

// A closed pipe (`fleetctl jobs | head -1`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
