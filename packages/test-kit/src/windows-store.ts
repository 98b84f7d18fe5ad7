/**
 * The emulated Windows host's machine state as packages/test-kit/src/windows-prelude.ps1 keeps it:
 * certificates in .NET's own X509Store (CurrentUser, under `<root>/.home`), keys' provider
 * and ACL in `<root>/.keys.json`, FriendlyNames in `<root>/.names.json`, and what a test
 * sets about the host in `<root>/.windows-host.json`.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a test says about the emulated Windows host (read by the prelude on every run). */
export interface WindowsHostConfig {
  /** Get-HostFacts: `DotNetRelease` (528040 = 4.8), `Fips`. */
  facts?: { DotNetRelease?: number; Fips?: boolean; ModuleLogging?: boolean; DefaultShell?: string };
  /** Resolve-ReaderSid: account name to SID, besides IIS_IUSRS and NETWORK SERVICE. */
  accounts?: Record<string, string>;
  /** Get-BoundThumbprints: certificates HTTP.sys bindings use. */
  bindings?: string[];
  /** Import-ClientKey throws a CryptographicException with this HRESULT. */
  importFault?: number;
  /** Grant-KeyRead does nothing (an ACL that does not take). */
  aclIgnored?: boolean;
  /** Invoke-FileReplace fails as ReplaceFileW error 1176 does. */
  replaceFault?: boolean;
  /** The language mode PowerShell starts in (ConstrainedLanguage: AppLocker/WDAC). */
  languageMode?: string;
  /** Where PowerShell's ParameterBinding trace goes (every value bound to any parameter). */
  trace?: string;
}

/** One private key as the prelude records it. */
export interface KeyRecord {
  provider: string;
  readers: string[];
}

/** A certificate in an emulated machine store. */
export interface EmulatedCertificate {
  thumbprint: string;
  friendlyName?: string;
  hasPrivateKey: boolean;
  /** The key storage provider of its (newest) key. */
  keyProvider?: string;
  /** SIDs with Read on its private key. */
  keyAcl: string[];
}

/** The emulated LocalMachine stores, by thumbprint. */
export interface EmulatedStore {
  My: Record<string, EmulatedCertificate>;
  Root: Record<string, EmulatedCertificate>;
  CA: Record<string, EmulatedCertificate>;
}

/** .NET on Linux keeps a CurrentUser store in a folder named as it was first opened. */
function storeDir(root: string, name: keyof EmulatedStore): string {
  const stores = join(root, '.home', '.dotnet', 'corefx', 'cryptography', 'x509stores');
  const found = existsSync(stores)
    ? readdirSync(stores).find((d) => d.toLowerCase() === name.toLowerCase())
    : undefined;
  return join(stores, found ?? name);
}

function readJson<T>(path: string, fallback: T): T {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : fallback;
}

/** Thumbprint to key records, oldest first. */
export function readKeys(root: string): Record<string, KeyRecord[]> {
  const raw = readJson<Record<string, KeyRecord | KeyRecord[]>>(join(root, '.keys.json'), {});
  return Object.fromEntries(Object.entries(raw).map(([t, r]) => [t, Array.isArray(r) ? r : [r]]));
}

/** Replaces the key records. */
export function writeKeys(root: string, keys: Record<string, KeyRecord[]>): void {
  writeFileSync(join(root, '.keys.json'), JSON.stringify(keys, null, 2));
}

/** The three machine stores as the script left them. */
export function readWindowsStore(root: string): EmulatedStore {
  const keys = readKeys(root);
  const names = readJson<Record<string, string>>(join(root, '.names.json'), {});
  const read = (name: keyof EmulatedStore): Record<string, EmulatedCertificate> => {
    const dir = storeDir(root, name);
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pfx')) : [];
    return Object.fromEntries(
      files.map((f) => {
        const thumbprint = f.slice(0, -4).toUpperCase();
        const key = name === 'My' ? keys[thumbprint]?.at(-1) : undefined;
        const friendlyName = name === 'My' ? names[thumbprint] : undefined;
        return [
          thumbprint,
          {
            thumbprint,
            ...(friendlyName ? { friendlyName } : {}),
            hasPrivateKey: key !== undefined,
            ...(key ? { keyProvider: key.provider } : {}),
            keyAcl: key?.readers ?? [],
          },
        ];
      }),
    );
  };
  return { My: read('My'), Root: read('Root'), CA: read('CA') };
}

/** Takes a certificate (and, in My, its keys) out of a store, as an operator might. */
export function removeCertificate(root: string, store: keyof EmulatedStore, thumbprint: string): void {
  rmSync(join(storeDir(root, store), `${thumbprint}.pfx`), { force: true });
  if (store === 'My') {
    writeKeys(root, Object.fromEntries(Object.entries(readKeys(root)).filter(([t]) => t !== thumbprint)));
  }
}

/** Writes what the prelude reads about the host; `{}` is a plain Windows Server with .NET 4.8. */
export function configureWindowsHost(root: string, config: WindowsHostConfig): void {
  writeFileSync(join(root, '.windows-host.json'), JSON.stringify(config));
}
