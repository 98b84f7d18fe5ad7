/**
 * certfleet's wire contract: the TypeBox schemas that are the only definition of
 * what the API answers and accepts, and the types derived from them
 * (`Static<typeof X>`, exported under the schema's name). The store, the CLI and
 * the page take their types from here (the page by JSDoc:
 * `@type {import('@certfleet/contract').Job}`).
 */
export * from './audit.js';
export * from './certificate.js';
export * from './drift-check.js';
export * from './environment.js';
export * from './expiry.js';
export * from './job.js';
export * from './patterns.js';
export * from './statuses.js';
export { StringEnum } from './string-enum.js';
export { CodedError } from './coded-error.js';
export { fieldOf, firstErrorLine, type SchemaErrorLike, type SchemaErrorOptions } from './schema-error.js';
export { loadYamlFile, parseYamlText, type YamlFileOptions } from './yaml-file.js';
