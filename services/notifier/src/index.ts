export { createMailer, createNotifier } from './notify-worker.js';
export type { FleetNotifier } from './notify-worker.js';
export { processNotify, sinksFor } from './notify.js';
export type { NotifierDeps } from './notify.js';
export { DeliveryError, emailSink, reportBody, reportText, slackSink, webhookSink } from './sinks.js';
export type { Report, Sink } from './sinks.js';
export { startNotifier } from './start.js';
export type { RunningNotifier } from './start.js';
