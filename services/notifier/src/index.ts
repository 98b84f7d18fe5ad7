export { createMailer, createNotifier, processNotify, sinksFor } from './app.js';
export type { FleetNotifier, NotifierDeps } from './app.js';
export { DeliveryError, emailSink, reportBody, reportText, slackSink, webhookSink } from './sinks.js';
export type { Report, Sink } from './sinks.js';
export { startNotifier } from './start.js';
export type { RunningNotifier } from './start.js';
