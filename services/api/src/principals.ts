import { createHash, timingSafeEqual } from 'node:crypto';
import { PERSON_PATTERN, loadYamlFile, parseYamlText, type YamlFileOptions } from '@certfleet/contract';
import { Type, type Static } from 'typebox';

export type Role = 'operator' | 'approver' | 'admin';

export interface Principal {
  name: string;
  roles: Role[];
  tokenSha256: string;
}

export class PrincipalsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrincipalsError';
    Object.setPrototypeOf(this, PrincipalsError.prototype);
  }
}

/** The principals file's schema (exported for the regex-safety check of every pattern). */
export const PrincipalsSchema = Type.Object(
  {
    principals: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: PERSON_PATTERN }),
          roles: Type.Array(
            Type.Union([Type.Literal('operator'), Type.Literal('approver'), Type.Literal('admin')]),
            {
              minItems: 1,
            },
          ),
          tokenSha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const FILE_OPTIONS: YamlFileOptions = {
  error: PrincipalsError,
  explain: (field, message) =>
    field.endsWith('tokenSha256')
      ? `${message} (hex SHA-256 of the token: printf %s TOKEN | sha256sum)`
      : undefined,
};

/** Validates principals YAML; errors name the file and the field. */
export function parsePrincipals(text: string, source = 'auth'): Principal[] {
  return resolve(parseYamlText(PrincipalsSchema, text, source, FILE_OPTIONS), source);
}

/** Reads and validates the principals file. */
export async function loadPrincipals(file: string): Promise<Principal[]> {
  return resolve(await loadYamlFile(PrincipalsSchema, file, FILE_OPTIONS), file);
}

/** Names and token hashes are unique; roles are listed once. */
function resolve(doc: Static<typeof PrincipalsSchema>, source: string): Principal[] {
  const seen = new Set<string>();
  const hashes = new Set<string>();
  return doc.principals.map((p, i) => {
    if (seen.has(p.name))
      throw new PrincipalsError(`${source}: principals[${i}].name: duplicate '${p.name}'`);
    const hash = p.tokenSha256.toLowerCase();
    if (hashes.has(hash)) {
      throw new PrincipalsError(
        `${source}: principals[${i}].tokenSha256: the same token is given to two principals`,
      );
    }
    seen.add(p.name);
    hashes.add(hash);
    return { name: p.name, roles: [...new Set(p.roles)], tokenSha256: hash };
  });
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Finds the principal holding a bearer token. Every principal is compared, in
 * constant time, so the answer's timing says nothing about which hash was close.
 */
export function authenticate(principals: readonly Principal[], token: string): Principal | undefined {
  const presented = Buffer.from(sha256Hex(token), 'hex');
  let found: Principal | undefined;
  for (const p of principals) {
    if (timingSafeEqual(presented, Buffer.from(p.tokenSha256, 'hex'))) found ??= p;
  }
  return found;
}

/** admin holds every role. */
export function hasRole(principal: Principal, roles: readonly Role[]): boolean {
  return principal.roles.includes('admin') || roles.some((r) => principal.roles.includes(r));
}
