/**
 * One line for the first schema error, whoever found it: TypeBox's `Value.Errors`
 * (YAML files, queue payloads) or Ajv inside fastify (request bodies). Both give
 * errors of the same shape with slightly different `params`.
 */

/** What TypeBox's and Ajv's errors have in common. */
export interface SchemaErrorLike {
  keyword: string;
  /** JSON pointer of the value at fault, `''` for the document itself. */
  instancePath: string;
  params: object;
  message?: string | undefined;
}

/** How to word the line. */
export interface SchemaErrorOptions {
  /** The field name of the document itself; default `(top level)`. */
  root?: string;
  /** Says better what a field must be; answers undefined to keep the schema's message. */
  explain?: (field: string, message: string) => string | undefined;
}

/** Renders a JSON pointer like `/environments/1/installDir` as `environments[1].installDir`. */
export function fieldOf(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

function quoted(names: unknown): string {
  const list = Array.isArray(names) ? names : [names];
  return list.map((name) => `'${String(name)}'`).join(', ');
}

/** What is wrong, in words: unknown and missing fields by name, else the schema's message. */
function problemOf(error: SchemaErrorLike, field: string, options: SchemaErrorOptions): string {
  const params = error.params as Record<string, unknown>;
  // TypeBox lists the names (`additionalProperties`, `requiredProperties`), Ajv gives one.
  if (error.keyword === 'additionalProperties') {
    return `unknown field ${quoted(params['additionalProperties'] ?? params['additionalProperty'])}`;
  }
  if (error.keyword === 'required') {
    return `missing ${quoted(params['requiredProperties'] ?? params['missingProperty'])}`;
  }
  const message = error.message ?? 'is not valid';
  return options.explain?.(field, message) ?? message;
}

/**
 * `<field>: <what is wrong>` for the first error. TypeBox's `boolean` errors
 * (`schema is false`, one per unknown field) are passed over: the
 * `additionalProperties` error after them names every unknown field at once.
 */
export function firstErrorLine(errors: Iterable<SchemaErrorLike>, options: SchemaErrorOptions = {}): string {
  let first: SchemaErrorLike | undefined;
  for (const error of errors) {
    if (error.keyword !== 'boolean') {
      first = error;
      break;
    }
  }
  const root = options.root ?? '(top level)';
  if (!first) return `${root}: is not valid`;
  const field = fieldOf(first.instancePath) || root;
  return `${field}: ${problemOf(first, field, options)}`;
}
