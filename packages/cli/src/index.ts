export { runCli, buildProgram, resolveConnection, DEFAULT_URL, type Outcome } from './program.js';
export { processIo, type CliIo, type TextInput, type TextOutput } from './cli-io.js';
export { FleetClient, type FleetClientOptions } from './fleet-client.js';
export { CliError } from './cli-error.js';
export { ApiRequestError } from './api-request-error.js';
export { ConnectionError } from './connection-error.js';
export { ExitCode, exitCodeForStatus, isFinal } from './exit-codes.js';
export { watchJob, type WatchOptions } from './watch.js';
export type * from './api-types.js';
