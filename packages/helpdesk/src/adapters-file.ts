/**
 * FLEET_ADAPTERS: the YAML file of help desk instances, validated at start like the
 * inventory. Secrets are named by environment variable or file, resolved here, and
 * never logged.
 */
import { readFileSync } from 'node:fs';
import { CodedError, firstErrorLine, parseYamlText, StringEnum } from '@certfleet/contract';
import { readFile } from 'node:fs/promises';
import { Type, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { HELPDESK_SYSTEMS, type HelpdeskAdapter, type HelpdeskSystem } from './adapter.js';
import type { SecretRef, SystemDefinition } from './system-definition.js';
import { jiraSystem } from './jira.js';
import { serviceNowSystem } from './servicenow.js';
import { zendeskSystem } from './zendesk.js';

/** The adapters file is unreadable or wrong; the message names the file and the field. */
export class AdaptersError extends CodedError {
  readonly code = 'adapters_invalid';
}

/** Each system's definition: a new help desk is one file and one line here. */
const SYSTEMS: { readonly [S in HelpdeskSystem]: SystemDefinition<TSchema> } = {
  zendesk: zendeskSystem,
  jira: jiraSystem,
  servicenow: serviceNowSystem,
};

/** The file's outline; each instance is then checked against its own system's schema. */
const AdaptersOutline = Type.Object(
  {
    instances: Type.Array(
      Type.Object(
        { system: StringEnum(HELPDESK_SYSTEMS), name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }) },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: false },
);

/** The configured help desk instances, by system and name. */
export class HelpdeskAdapters {
  private readonly byKey: Map<string, HelpdeskAdapter>;

  constructor(adapters: readonly HelpdeskAdapter[]) {
    this.byKey = new Map(adapters.map((a) => [`${a.system}/${a.instance}`, a]));
  }

  /** The instance, or undefined when none of that system and name is configured. */
  get(system: string, instance: string): HelpdeskAdapter | undefined {
    return this.byKey.get(`${system}/${instance}`);
  }

  list(): HelpdeskAdapter[] {
    return [...this.byKey.values()];
  }
}

type Env = Record<string, string | undefined>;

function resolveSecret(ref: SecretRef, where: string, env: Env): string {
  if ((ref.env === undefined) === (ref.file === undefined)) {
    throw new AdaptersError(`${where}: give exactly one of env or file`);
  }
  if (ref.env !== undefined) {
    const value = env[ref.env];
    if (value === undefined || value.trim() === '') {
      throw new AdaptersError(`${where}: environment variable ${ref.env} is not set`);
    }
    return value.trim();
  }
  try {
    const value = readFileSync(ref.file!, 'utf8').trim();
    if (value === '') throw new AdaptersError(`${where}: ${ref.file} is empty`);
    return value;
  } catch (err) {
    if (err instanceof AdaptersError) throw err;
    throw new AdaptersError(
      `${where}: cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/** Parses the adapters file's text; throws AdaptersError naming the first bad field. */
export function parseAdapters(text: string, source: string, env: Env = process.env): HelpdeskAdapters {
  const outline = parseYamlText(AdaptersOutline, text, source, { error: AdaptersError });
  const seen = new Set<string>();
  const adapters = outline.instances.map((raw, i) => {
    const at = `${source}: instances[${i}]`;
    const system = SYSTEMS[raw.system];
    if (!Value.Check(system.schema, raw)) {
      const errors = [...Value.Errors(system.schema, raw)].map((e) => ({
        ...e,
        instancePath: `/instances/${i}${e.instancePath}`,
      }));
      throw new AdaptersError(`${source}: ${firstErrorLine(errors)}`);
    }
    const key = `${raw.system}/${raw.name}`;
    if (seen.has(key)) throw new AdaptersError(`${at}.name: ${key} is configured twice`);
    seen.add(key);
    const secrets: Record<string, string> = {};
    for (const field of system.secretFields) {
      // a secret the schema lets be absent (ServiceNow: a password or an OAuth token) is skipped
      const ref = (raw as unknown as Record<string, SecretRef | undefined>)[field];
      if (ref === undefined) continue;
      secrets[field] = resolveSecret(ref, `${at}.${field}`, env);
    }
    return system.create(raw, secrets);
  });
  return new HelpdeskAdapters(adapters);
}

/** Reads FLEET_ADAPTERS; no file named means no adapters. */
export async function loadAdapters(
  file: string | undefined,
  env: Env = process.env,
): Promise<HelpdeskAdapters> {
  if (file === undefined) return new HelpdeskAdapters([]);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AdaptersError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseAdapters(text, file, env);
}
