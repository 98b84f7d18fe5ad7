/** What each help desk system contributes to the adapters file, and helpers they share. */
import { Type, type Static, type TSchema } from 'typebox';
import type { HelpdeskAdapter } from './adapter.js';

/** A secret named, never written, in the adapters file: `{ env: NAME }` or `{ file: /path }`. */
export const SecretRef = Type.Object(
  {
    env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' })),
    file: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false, description: 'exactly one of env (a variable name) or file (a path)' },
);
export type SecretRef = Static<typeof SecretRef>;

/**
 * `statuses` in an instance: the desk status a ticket takes when its job ends so
 * (Zendesk status, Jira transition name, ServiceNow state value); unmapped ones keep the ticket's.
 */
export const StatusMap = Type.Object(
  {
    completed: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    partially_failed: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    failed: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    rejected: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
export type StatusMap = Static<typeof StatusMap>;

/** The desk status `jobStatus` maps to, when the map has one. */
export function mappedStatus(map: StatusMap | undefined, jobStatus: string | undefined): string | undefined {
  if (!map || jobStatus === undefined || !Object.hasOwn(map, jobStatus)) return undefined;
  return map[jobStatus as keyof StatusMap];
}

/** One system: the schema of its instances, which of their fields are secrets, and how to build one. */
export interface SystemDefinition<S extends TSchema> {
  schema: S;
  /** Top-level fields holding a SecretRef; the adapter gets their values. */
  secretFields: readonly string[];
  create(instance: Static<S>, secrets: Readonly<Record<string, string>>): HelpdeskAdapter;
}

/** An instance as its adapter takes it: the API token and webhook secret resolved. */
export type WithTokenAndSecret<T> = Omit<T, 'apiToken' | 'webhookSecret'> & {
  apiToken: string;
  webhookSecret: string;
};

/** A system whose instances name an `apiToken` and a `webhookSecret` (both required by its schema). */
export function tokenAndSecretSystem<S extends TSchema>(
  schema: S,
  build: (config: WithTokenAndSecret<Static<S>>) => HelpdeskAdapter,
): SystemDefinition<S> {
  return {
    schema,
    secretFields: ['apiToken', 'webhookSecret'],
    create: (instance, secrets) =>
      build({
        ...(instance as object),
        apiToken: secrets['apiToken'] ?? '',
        webhookSecret: secrets['webhookSecret'] ?? '',
      } as WithTokenAndSecret<Static<S>>),
  };
}

/** One header's value (the first, when repeated). */
export function headerOf(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A field's value as a list: a multi-select's array, or text split on commas and spaces. */
export function splitList(value: unknown): string[] {
  const parts = Array.isArray(value)
    ? value.map(String)
    : typeof value === 'string'
      ? value.split(/[\s,]+/)
      : [];
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}
