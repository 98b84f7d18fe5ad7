import { Type } from 'typebox';

/** A string enum whose static type is the union of its values (`{ type: 'string', enum }` in OpenAPI). */
export function StringEnum<T extends string>(values: readonly T[], description?: string) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
}
