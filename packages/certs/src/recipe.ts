/**
 * What a customer runs to turn any PFX that OpenSSL can read into one the front-ends import:
 * decode it, then export again with TripleDES-SHA1 (the -legacy provider reads RC2 and RC4).
 */
export const REENCODE_RECIPE =
  'Re-encode it with TripleDES-SHA1 in two steps (OpenSSL 3; leave out -legacy with OpenSSL 1.1): ' +
  '1) openssl pkcs12 -legacy -in in.pfx -nodes -out cert-and-key.pem ' +
  '2) openssl pkcs12 -export -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 ' +
  '-in cert-and-key.pem -out fixed.pfx ' +
  '(both ask for the password); then delete cert-and-key.pem, which holds the private key unencrypted, ' +
  'and submit fixed.pfx.';
