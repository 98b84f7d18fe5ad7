/** The test kit: what the integration tests and the demo both start (no test-framework imports). */
export * from './api-client.js';
export * from './children.js';
export * from './inprocess-host.js';
export * from './pwsh.js';
export * from './sshd-fleet.js';
export * from './stack.js';
export * from './windows-store.js';
export * from './install-job.js';
export * from './until.js';
