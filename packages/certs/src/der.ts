import forge from 'node-forge';

export type Asn1 = forge.asn1.Asn1;
export const { Class, Type } = forge.asn1;

/** A structure that is not what it should be; the caller turns it into the CertError that fits. */
export class MalformedError extends Error {
  override readonly name = 'MalformedError';

  /**
   * @param fix what the customer should do instead of the default advice (send the binary file,
   * base64-encoded once), when that advice cannot help
   */
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** Far deeper than any PKCS#12 or X.509 structure; hostile nesting stops here, not at the stack's end. */
const MAX_DEPTH = 40;

interface FromDerOptions {
  strict: boolean;
  parseAllBytes: boolean;
  decodeBitStrings: boolean;
  maxDepth: number;
}
// @types/node-forge only knows the boolean form of the second argument
const fromDer = forge.asn1.fromDer as unknown as (bytes: string, options: FromDerOptions) => Asn1;

/**
 * Parses DER (and the BER that PKCS#12 allows inside it) from a binary string: exact lengths,
 * nothing left over, bounded depth, BIT STRINGs left opaque.
 */
export function parseDer(bytes: string, what: string): Asn1 {
  try {
    return fromDer(bytes, {
      strict: true,
      parseAllBytes: true,
      decodeBitStrings: false,
      maxDepth: MAX_DEPTH,
    });
  } catch {
    throw new MalformedError(`${what} is not valid DER`);
  }
}

export function toDer(node: Asn1): string {
  return forge.asn1.toDer(node).getBytes();
}

export function toBinary(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function fromBinary(bytes: string): Buffer {
  return Buffer.from(bytes, 'latin1');
}

function is(node: Asn1, tagClass: number, type: number): boolean {
  return node.tagClass === tagClass && node.type === type;
}

/** The elements of a SEQUENCE (or SET) `node`, which must have at least `min` of them. */
export function elements(
  node: Asn1 | undefined,
  what: string,
  min = 0,
  type: number = Type.SEQUENCE,
): Asn1[] {
  if (!node || !is(node, Class.UNIVERSAL, type) || !node.constructed || !Array.isArray(node.value)) {
    throw new MalformedError(`${what} is not a ${type === Type.SET ? 'SET' : 'SEQUENCE'}`);
  }
  if (node.value.length < min) throw new MalformedError(`${what} is incomplete`);
  return node.value;
}

/** The single element inside an explicit context tag `[tagNumber]`. */
export function explicit(node: Asn1 | undefined, tagNumber: number, what: string): Asn1 {
  if (!node || !is(node, Class.CONTEXT_SPECIFIC, tagNumber) || !Array.isArray(node.value)) {
    throw new MalformedError(`${what} is missing its [${tagNumber}] content`);
  }
  const [inner] = node.value;
  if (!inner || node.value.length !== 1) throw new MalformedError(`${what} must hold exactly one element`);
  return inner;
}

export function isContext(node: Asn1 | undefined, tagNumber: number): node is Asn1 {
  return node !== undefined && is(node, Class.CONTEXT_SPECIFIC, tagNumber);
}

export function oid(node: Asn1 | undefined, what: string): string {
  if (!node || !is(node, Class.UNIVERSAL, Type.OID) || typeof node.value !== 'string' || node.value === '') {
    throw new MalformedError(`${what} is not an OBJECT IDENTIFIER`);
  }
  return forge.asn1.derToOid(node.value);
}

/** Primitive content, or the concatenated segments of a BER constructed string. */
function content(node: Asn1, what: string): string {
  if (typeof node.value === 'string') return node.value;
  return node.value
    .map((segment) => {
      if (!is(segment, Class.UNIVERSAL, Type.OCTETSTRING))
        throw new MalformedError(`${what} has a bad segment`);
      return content(segment, what);
    })
    .join('');
}

export function octets(node: Asn1 | undefined, what: string): string {
  if (!node || !is(node, Class.UNIVERSAL, Type.OCTETSTRING)) {
    throw new MalformedError(`${what} is not an OCTET STRING`);
  }
  return content(node, what);
}

/** `[tagNumber] IMPLICIT OCTET STRING`, primitive or constructed. */
export function implicitOctets(node: Asn1 | undefined, tagNumber: number, what: string): string {
  if (!isContext(node, tagNumber)) throw new MalformedError(`${what} is missing`);
  return content(node, what);
}

/**
 * A non-negative INTEGER as a number; Infinity when it does not fit in 2^53, so that an absurd
 * iteration count is refused as too expensive rather than as unreadable.
 */
export function integer(node: Asn1 | undefined, what: string): number {
  if (
    !node ||
    !is(node, Class.UNIVERSAL, Type.INTEGER) ||
    typeof node.value !== 'string' ||
    node.value === ''
  ) {
    throw new MalformedError(`${what} is not an INTEGER`);
  }
  if (node.value.charCodeAt(0) & 0x80) throw new MalformedError(`${what} is negative`);
  let value = 0;
  for (let i = 0; i < node.value.length; i++) {
    value = value * 256 + node.value.charCodeAt(i);
    if (value > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return value;
}

export function bmpString(node: Asn1 | undefined, what: string): string {
  // forge decodes BMPString content into a JavaScript string itself
  if (!node || !is(node, Class.UNIVERSAL, Type.BMPSTRING) || typeof node.value !== 'string') {
    throw new MalformedError(`${what} is not a BMPString`);
  }
  return node.value;
}

export function make(tagClass: number, type: number, value: string | Asn1[]): Asn1 {
  return forge.asn1.create(tagClass, type, Array.isArray(value), value);
}

export function seq(...items: Asn1[]): Asn1 {
  return make(Class.UNIVERSAL, Type.SEQUENCE, items);
}

export function set(...items: Asn1[]): Asn1 {
  return make(Class.UNIVERSAL, Type.SET, items);
}

export function oidNode(dotted: string): Asn1 {
  return make(Class.UNIVERSAL, Type.OID, forge.asn1.oidToDer(dotted).getBytes());
}

export function octetNode(bytes: string): Asn1 {
  return make(Class.UNIVERSAL, Type.OCTETSTRING, bytes);
}

export function integerNode(value: number): Asn1 {
  return make(Class.UNIVERSAL, Type.INTEGER, forge.asn1.integerToDer(value).getBytes());
}

export function explicitNode(tagNumber: number, inner: Asn1): Asn1 {
  return make(Class.CONTEXT_SPECIFIC, tagNumber, [inner]);
}
