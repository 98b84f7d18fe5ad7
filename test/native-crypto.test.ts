/**
 * ssh2's optional native crypto binding: `npm ci` builds it (allowScripts lets ssh2 and
 * cpu-features run their install scripts) and tools/on-node.js rebuilds it for the Node.js
 * that runs the tests when npm ran on another one. Without it ssh2 falls back, silently, to
 * its pure-JavaScript ciphers; these tests show which one a real SSH connection uses.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { startFleet, type Fleet } from '@certfleet/test-kit';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

/** ssh2's internal cipher module (CommonJS); `bindingAvailable` is its own verdict. */
const sshCrypto = require('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean };
const BINDING = require.resolve('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');

/** The class names of the cipher and decipher a connection negotiated (ssh2 internals, read on purpose). */
interface Negotiated {
  cipher: string;
  decipher: string;
}

describe("ssh2's native crypto binding", () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet({ count: 1 });
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  it(`is built for this Node.js (${process.version}) and loaded by ssh2`, () => {
    expect(sshCrypto.bindingAvailable).toBe(true);
    expect(require.cache[BINDING]).toBeDefined();
  });

  /** Connects to the fleet's host offering only `cipher`, and says which classes encrypt. */
  async function negotiate(cipher: string): Promise<Negotiated> {
    const host = fleet.hosts[0]!;
    const privateKey = await readFile(fleet.clientKeyPath);
    const pinned = host.hostKeyLine.split(' ')[1];
    const client = new Client();
    try {
      return await new Promise<Negotiated>((resolve, reject) => {
        client.once('error', reject);
        client.once('ready', () => {
          const protocol = (client as unknown as { _protocol: { _cipher: object; _decipher: object } })
            ._protocol;
          resolve({
            cipher: protocol._cipher.constructor.name,
            decipher: protocol._decipher.constructor.name,
          });
        });
        client.connect({
          host: host.address,
          port: host.port,
          username: fleet.username,
          privateKey,
          algorithms: { cipher: [cipher as never] },
          hostVerifier: (key: Buffer) => key.toString('base64') === pinned,
        });
      });
    } finally {
      client.end();
    }
  }

  it.each([
    ['aes256-gcm@openssh.com', 'AESGCMCipherBinding', 'AESGCMDecipherBinding'],
    ['chacha20-poly1305@openssh.com', 'ChaChaPolyCipherBinding', 'ChaChaPolyDecipherBinding'],
    ['aes256-ctr', 'GenericCipherBinding', 'GenericDecipherBinding'],
  ])(
    'encrypts a real sshd connection with %s in the binding (%s), not in JavaScript',
    async (name, cipher, decipher) => {
      expect(await negotiate(name)).toEqual({ cipher, decipher });
    },
  );
});
