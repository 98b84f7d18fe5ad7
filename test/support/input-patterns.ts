/**
 * Every regular expression certfleet applies to outside input, collected from
 * the schemas themselves: the OpenAPI document of the running API (request
 * bodies, parameters and query strings of every route), the inventory,
 * principals and job payload schemas, and the named RegExp constants of the
 * header and path checks. A new pattern in any of them is found without
 * being listed here.
 */
import { AUTHORIZATION_PATTERNS, PrincipalsSchema } from '@certfleet/api';
import {
  JIRA_PATTERNS,
  JiraInstance,
  SERVICENOW_PATTERNS,
  ServiceNowInstance,
  ZendeskInstance,
} from '@certfleet/helpdesk';
import { INVENTORY_PATTERNS, InventorySchema } from '@certfleet/inventory';
import {
  HelpdeskIntakePayload,
  InstallPayload,
  InstallTargetPayload,
  NotifyPayload,
  SIGNATURE_PATTERN,
} from '@certfleet/jobs';

export interface InputPattern {
  /** Where it was found, e.g. `POST /v1/jobs body.pfx`. */
  where: string;
  source: string;
  /** The flags it runs with: Ajv compiles schema patterns with `u`. */
  flags: string;
}

export interface SchemaFormat {
  where: string;
  format: string;
}

/** Walks a JSON schema and calls `visit` for every object in it, with its path. */
function walk(
  node: unknown,
  path: string,
  visit: (obj: Record<string, unknown>, path: string) => void,
): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, `${path}[${i}]`, visit));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  visit(obj, path);
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'pattern' || key === 'format') continue;
    const step = key === 'properties' || key === 'items' || key === 'schema' ? '' : `.${key}`;
    walk(value, `${path}${step}`, visit);
  }
}

function schemaPatterns(
  schema: unknown,
  where: string,
): { patterns: InputPattern[]; formats: SchemaFormat[] } {
  const patterns: InputPattern[] = [];
  const formats: SchemaFormat[] = [];
  walk(schema, where, (obj, path) => {
    if (typeof obj['pattern'] === 'string')
      patterns.push({ where: path, source: obj['pattern'], flags: 'u' });
    if (typeof obj['format'] === 'string') formats.push({ where: path, format: obj['format'] });
  });
  return { patterns, formats };
}

type OpenApiOperation = {
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  parameters?: { in: string; name: string; schema?: unknown }[];
};

/** The request-side patterns and formats of every route of an OpenAPI document. */
export function openApiInputs(doc: { paths?: Record<string, Record<string, OpenApiOperation>> }): {
  patterns: InputPattern[];
  formats: SchemaFormat[];
} {
  const patterns: InputPattern[] = [];
  const formats: SchemaFormat[] = [];
  for (const [route, operations] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(operations)) {
      const at = `${method.toUpperCase()} ${route}`;
      for (const media of Object.values(op.requestBody?.content ?? {})) {
        const found = schemaPatterns(media.schema, `${at} body`);
        patterns.push(...found.patterns);
        formats.push(...found.formats);
      }
      for (const param of op.parameters ?? []) {
        const found = schemaPatterns(param.schema, `${at} ${param.in}.${param.name}`);
        patterns.push(...found.patterns);
        formats.push(...found.formats);
      }
    }
  }
  return { patterns, formats };
}

/** Patterns outside the HTTP routes: files read at start, queue payloads, headers, paths. */
export function otherInputPatterns(): InputPattern[] {
  const named = (where: string, res: readonly RegExp[]): InputPattern[] =>
    res.map((re, i) => ({ where: `${where}[${i}]`, source: re.source, flags: re.flags }));
  return [
    ...schemaPatterns(InventorySchema, 'inventory').patterns,
    ...schemaPatterns(PrincipalsSchema, 'principals').patterns,
    ...schemaPatterns(InstallPayload, 'payload.install').patterns,
    ...schemaPatterns(InstallTargetPayload, 'payload.install-target').patterns,
    ...schemaPatterns(NotifyPayload, 'payload.notify').patterns,
    ...schemaPatterns(HelpdeskIntakePayload, 'payload.helpdesk-intake').patterns,
    ...schemaPatterns(ZendeskInstance, 'adapters.zendesk').patterns,
    ...schemaPatterns(ServiceNowInstance, 'adapters.servicenow').patterns,
    ...named('ServiceNow doorbell', SERVICENOW_PATTERNS),
    ...schemaPatterns(JiraInstance, 'adapters.jira').patterns,
    ...named('Jira doorbell', JIRA_PATTERNS),
    ...named('inventory installDir', INVENTORY_PATTERNS),
    ...named('Authorization header', AUTHORIZATION_PATTERNS),
    ...named('X-Certfleet-Signature header', [SIGNATURE_PATTERN]),
  ];
}
