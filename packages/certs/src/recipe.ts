/** What the file in hand needs from the recipe. */
export interface RecipeOptions {
  /**
   * The file's integrity MAC is PBMAC1 (RFC 9579), which only OpenSSL 3.4 and later verify; older
   * versions read the rest of the file when told not to check the MAC (`-nomacver`).
   */
  pbmac1?: boolean;
}

function decodeStep(options: RecipeOptions): string {
  return options.pbmac1
    ? 'openssl pkcs12 -legacy -nomacver -in in.pfx -nodes -out cert-and-key.pem'
    : 'openssl pkcs12 -legacy -in in.pfx -nodes -out cert-and-key.pem';
}

/**
 * What a customer runs to turn a PFX that OpenSSL can read into one the front-ends import:
 * decode it, then export again with TripleDES-SHA1 (the -legacy provider reads RC2 and RC4).
 */
export function reencodeRecipe(options: RecipeOptions = {}): string {
  const versions = options.pbmac1
    ? '(any OpenSSL from 1.1 on: leave out -legacy with 1.1; its PBMAC1 integrity MAC is verified only by ' +
      'OpenSSL 3.4 and later, so -nomacver skips it, and a wrong password still fails to decrypt)'
    : '(OpenSSL 3; leave out -legacy with OpenSSL 1.1)';
  return (
    `Re-encode it with TripleDES-SHA1 in two steps ${versions}: ` +
    `1) ${decodeStep(options)} ` +
    '2) openssl pkcs12 -export -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 ' +
    '-in cert-and-key.pem -out fixed.pfx ' +
    '(both ask for the password); then delete cert-and-key.pem, which holds the private key unencrypted, ' +
    'and submit fixed.pfx.'
  );
}

/** The recipe for a file with an ordinary (HMAC) integrity check. */
export const REENCODE_RECIPE = reencodeRecipe();
