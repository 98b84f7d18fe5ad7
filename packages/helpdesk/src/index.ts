/** Help desk adapters (README: Help desks): the adapters file, one adapter per system, the desks' HTTP. */
export { HELPDESK_SYSTEMS } from './adapter.js';
export type {
  DeskApproval,
  DeskAttachment,
  DeskRequest,
  DeskTicket,
  Doorbell,
  HelpdeskAdapter,
  HelpdeskSystem,
} from './adapter.js';
export { AdaptersError, HelpdeskAdapters, loadAdapters, parseAdapters } from './adapters-file.js';
export { headerOf, mappedStatus, SecretRef, splitList, StatusMap } from './system-definition.js';
export type { SystemDefinition } from './system-definition.js';
export { DeskHttp, retryAfterMs } from './desk-http.js';
export type { DeskHttpOptions } from './desk-http.js';
export { DeskHttpError } from './desk-http-error.js';
export type { DeskHttpErrorCode } from './desk-http-error.js';
export {
  ZENDESK_INVOCATION_HEADER,
  ZENDESK_SIGNATURE_HEADER,
  ZENDESK_TIMESTAMP_HEADER,
  ZendeskAdapter,
  ZendeskInstance,
  zendeskSignature,
} from './zendesk.js';
export {
  SERVICENOW_DELIVERY_HEADER,
  SERVICENOW_PATTERNS,
  SERVICENOW_SIGNATURE_HEADER,
  ServiceNowAdapter,
  ServiceNowInstance,
  serviceNowSignature,
} from './servicenow.js';
export type { ServiceNowConfig } from './servicenow.js';
export {
  JIRA_IDENTIFIER_HEADER,
  JIRA_PATTERNS,
  JIRA_SIGNATURE_HEADER,
  JiraAdapter,
  JiraInstance,
  jiraSignature,
} from './jira.js';
export type { JiraConfig } from './jira.js';
