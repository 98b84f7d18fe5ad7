/** Reading a YAML file against its schema, with errors that name the file and the field. */
import { readFile } from 'node:fs/promises';
import type { Static, TSchema } from 'typebox';
import Value from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { firstErrorLine, type SchemaErrorOptions } from './schema-error.js';

/** How a file's errors are reported: as the caller's own error class. */
export interface YamlFileOptions extends SchemaErrorOptions {
  error: new (message: string) => Error;
}

/** Parses YAML text and checks it against `schema`; errors read `<source>: <field>: <what is wrong>`. */
export function parseYamlText<S extends TSchema>(
  schema: S,
  text: string,
  source: string,
  options: YamlFileOptions,
): Static<S> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new options.error(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!Value.Check(schema, doc)) {
    throw new options.error(`${source}: ${firstErrorLine(Value.Errors(schema, doc), options)}`);
  }
  return doc;
}

/** Reads a YAML file and checks it against `schema` (see `parseYamlText`). */
export async function loadYamlFile<S extends TSchema>(
  schema: S,
  file: string,
  options: YamlFileOptions,
): Promise<Static<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new options.error(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseYamlText(schema, text, file, options);
}
