/**
 * What the Windows adapter runs on a front-end, and how it gets there.
 *
 * Windows OpenSSH hands an exec request to cmd.exe (`cmd.exe /c <command>`), whose command
 * line ends at 8191 characters and whose quoting rules differ from every other shell. So the
 * command line is always the same short, constant bootstrap (base64 is safe in cmd.exe),
 * and everything else travels on stdin as one JSON document `{ script, input }`: the real
 * script's source and its inputs (paths, name, expected SHA-256s, the PFX password). The
 * script reads its inputs from `$In`; no input is ever part of any source text, so no
 * password or name can change what runs.
 */

/** The protocol version the script expects in `input.version`. */
export const WINDOWS_PROTOCOL = 1;

/** The store the client certificate is imported into; also reported in InstallResult.store. */
export const WINDOWS_STORE = 'LocalMachine\\My';

/** IIS_IUSRS and NETWORK SERVICE: group names are localised, well-known SIDs are not. */
export const KEY_READER_SIDS = ['S-1-5-32-568', 'S-1-5-20'] as const;

/**
 * Runs under `powershell -EncodedCommand`: reads stdin (as Ansible's bootstrap does, with
 * `$input`), parses the JSON and runs `script` with `input` as its only argument. The JSON
 * is pure ASCII, so the console code page cannot change it; UTF-8 is set anyway.
 */
export const WINDOWS_BOOTSTRAP = [
  "$ErrorActionPreference='Stop';$ProgressPreference='SilentlyContinue'",
  'try{[Console]::InputEncoding=[Console]::OutputEncoding=New-Object Text.UTF8Encoding $false}catch{}',
  '$d=ConvertFrom-Json ($input|Out-String)',
  '& ([ScriptBlock]::Create($d.script)) $d.input',
  'exit $LASTEXITCODE',
].join('\n');

/** PowerShell's `-EncodedCommand` form: base64 of the UTF-16LE text. */
export function encodePowerShellCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/** The inverse of `encodePowerShellCommand` (used by tests and the emulator). */
export function decodePowerShellCommand(encoded: string): string {
  return Buffer.from(encoded, 'base64').toString('utf16le');
}

/**
 * The exact command line the adapter sends: Windows PowerShell 5.1, no profile (a profile
 * could print or prompt), never interactive (a prompt would hang until the deadline).
 * `-ExecutionPolicy Bypass` applies to this process only; a Group Policy still wins.
 */
export const WINDOWS_BOOTSTRAP_COMMAND =
  'powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' +
  encodePowerShellCommand(WINDOWS_BOOTSTRAP);

/**
 * The install script. Windows PowerShell 5.1 (.NET Framework 4.6.2+), nothing else: no
 * modules (Get-FileHash's SHA-256 is computed with .NET directly, so execution policy and
 * module autoloading do not matter), no Add-Type. Steps, each idempotent:
 *
 * 1. Read every uploaded temporary file once and compare its SHA-256 with the expected one
 *    (what is imported and moved is exactly what was checked).
 * 2. The PFX is opened with the password without persisting its key (a wrong password
 *    stops here, before anything is trusted or stored) to read its leaf's thumbprint.
 * 3. CA certificates: self-signed ones into LocalMachine\Root, the others into
 *    LocalMachine\CA, unless a certificate with that thumbprint is already there.
 * 4. The client certificate: when LocalMachine\My holds it with a private key file, it is
 *    kept; otherwise the PFX is imported (MachineKeySet, PersistKeySet, not Exportable).
 *    Either way the key file (CNG: ProgramData\Microsoft\Crypto\Keys, CSP:
 *    ...\Crypto\RSA\MachineKeys) gets Read for IIS_IUSRS and NETWORK SERVICE when it lacks
 *    it; a re-import, which creates a new key file, therefore always gets its ACL back.
 * 5. Files into place, CA files first: a file already holding the expected bytes is left
 *    alone; otherwise File.Replace (ReplaceFileW: one rename that swaps the new file in and
 *    keeps the old one's ACL) or File.Move when there is none. Windows OpenSSH's
 *    posix-rename is not used: it deletes the target and then renames (w32_rename in
 *    Win32-OpenSSH), which leaves no file at all if the connection drops in between.
 *
 * It prints exactly one JSON line (ASCII: everything else is \u-escaped):
 * `{"thumbprint","store","path","changed"}` and exits 0, or `{"error","message"}` and
 * exits 2 after deleting the temporary files. `error` is one of hash_mismatch,
 * permission_denied, disk_full, bad_password, invalid_input, failed.
 */
export const WINDOWS_INSTALL_SCRIPT = String.raw`# certfleet install script, protocol 1. Inputs come from $In only.
param($In)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

$ReadRights = [System.Security.AccessControl.FileSystemRights]::Read
$ReaderSids = @(${KEY_READER_SIDS.map((sid) => `'${sid}'`).join(', ')})

function ConvertTo-AsciiJson($Value) {
  $json = ConvertTo-Json -InputObject $Value -Compress -Depth 5
  [regex]::Replace($json, '[^\x20-\x7E]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
}

function Send-Answer($Value) {
  [Console]::Out.WriteLine((ConvertTo-AsciiJson $Value))
  [Console]::Out.Flush()
}

function Stop-Install([string]$Code, [string]$Message) {
  $failure = New-Object System.Exception $Message
  $failure.Data['certfleet'] = $Code
  throw $failure
}

function Get-FailureCode($Exception) {
  for ($e = $Exception; $null -ne $e; $e = $e.InnerException) {
    if ($e.Data.Contains('certfleet')) { return [string]$e.Data['certfleet'] }
    if ($e -is [System.UnauthorizedAccessException]) { return 'permission_denied' }
    if ((($e.HResult -shr 16) -band 0xFFFF) -eq 0x8007) {
      switch ($e.HResult -band 0xFFFF) {
        5 { return 'permission_denied' }
        39 { return 'disk_full' }
        112 { return 'disk_full' }
        86 { return 'bad_password' }
      }
    }
  }
  return 'failed'
}

function Get-FailureMessage($Exception) {
  for ($e = $Exception; $null -ne $e; $e = $e.InnerException) {
    if ($e.Data.Contains('certfleet') -or $null -eq $e.InnerException) { return $e.Message }
  }
  return $Exception.Message
}

function Get-Sha256Hex([byte[]]$Bytes) {
  $sha = [System.Security.Cryptography.SHA256]::Create()
  try { return [System.BitConverter]::ToString($sha.ComputeHash($Bytes)).Replace('-', '').ToLowerInvariant() }
  finally { $sha.Dispose() }
}

function Assert-InDir([string]$Path, [string]$Dir) {
  if (-not [System.IO.Path]::IsPathRooted($Path) -or [System.IO.Path]::GetDirectoryName($Path) -ne $Dir) {
    Stop-Install 'invalid_input' ('{0} is not a file in {1}' -f $Path, $Dir)
  }
}

function Open-Store([string]$Name) {
  $store = New-Object System.Security.Cryptography.X509Certificates.X509Store -ArgumentList $Name, ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
  $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
  return ,$store
}

function Find-Thumbprint($Store, [string]$Thumbprint) {
  return ,$Store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $Thumbprint, $false)
}

function Get-PfxThumbprint([byte[]]$Bytes, [string]$Password) {
  $flagType = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]
  $attempts = @($flagType::DefaultKeySet)
  # EphemeralKeySet (.NET 4.7.2+) never writes the key anywhere; older frameworks use a
  # temporary key container that Reset() deletes.
  if ([Enum]::GetNames($flagType) -contains 'EphemeralKeySet') { $attempts = @([Enum]::Parse($flagType, 'EphemeralKeySet'), $flagType::DefaultKeySet) }
  foreach ($flags in $attempts) {
    $probe = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2Collection
    try {
      $probe.Import($Bytes, $Password, $flags)
    } catch {
      if ((Get-FailureCode $_.Exception) -eq 'bad_password' -or $flags -eq $attempts[-1]) { throw }
      continue
    }
    try {
      $leaf = @($probe | Where-Object { $_.HasPrivateKey })
      if ($leaf.Count -ne 1) { Stop-Install 'failed' ('the PFX holds {0} certificates with a private key; expected exactly one' -f $leaf.Count) }
      return $leaf[0].Thumbprint
    } finally {
      foreach ($c in $probe) { $c.Reset() }
    }
  }
}

function Find-KeyFile($Cert) {
  $key = $null
  try { $key = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Cert) } catch { $key = $null }
  if ($null -eq $key) {
    try { $key = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($Cert) } catch { $key = $null }
  }
  if ($null -eq $key) { return $null }
  try {
    if ($key -is [System.Security.Cryptography.RSACryptoServiceProvider]) {
      $name = $key.CspKeyContainerInfo.UniqueKeyContainerName
      $dirs = @('RSA\MachineKeys', 'Keys')
    } elseif ($key -is [System.Security.Cryptography.RSACng] -or $key -is [System.Security.Cryptography.ECDsaCng]) {
      $name = $key.Key.UniqueName
      $dirs = @('Keys', 'RSA\MachineKeys')
    } else {
      return $null
    }
    $crypto = [System.IO.Path]::Combine($env:ProgramData, 'Microsoft\Crypto')
    foreach ($d in $dirs) {
      $path = [System.IO.Path]::Combine($crypto, $d, $name)
      if ([System.IO.File]::Exists($path)) { return $path }
    }
    return $null
  } finally {
    $key.Dispose()
  }
}

function Test-ReadAccess([string]$Path, [string]$Sid) {
  $acl = [System.IO.File]::GetAccessControl($Path, [System.Security.AccessControl.AccessControlSections]::Access)
  foreach ($rule in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
    if ($rule.IdentityReference.Value -eq $Sid -and
        $rule.AccessControlType -eq [System.Security.AccessControl.AccessControlType]::Allow -and
        ($rule.FileSystemRights -band $ReadRights) -eq $ReadRights) { return $true }
  }
  return $false
}

function Grant-ReadAccess([string]$Path, [string]$Sid) {
  $acl = [System.IO.File]::GetAccessControl($Path, [System.Security.AccessControl.AccessControlSections]::Access)
  $identity = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $Sid
  $rule = New-Object System.Security.AccessControl.FileSystemAccessRule -ArgumentList $identity, $ReadRights, ([System.Security.AccessControl.AccessControlType]::Allow)
  $acl.AddAccessRule($rule)
  [System.IO.File]::SetAccessControl($Path, $acl)
}

$temps = New-Object System.Collections.Generic.List[string]
try {
  if ($In.version -ne 1) { Stop-Install 'invalid_input' ('protocol {0}, expected 1' -f $In.version) }
  $dir = [string]$In.dir
  $files = @(@($In.caFiles) + @($In.pfx))
  foreach ($f in $files) {
    Assert-InDir ([string]$f.path) $dir
    Assert-InDir ([string]$f.temp) $dir
    $temps.Add([string]$f.temp)
  }

  # 1. what arrived is what was sent
  $bytes = @{}
  foreach ($f in $files) {
    $data = [System.IO.File]::ReadAllBytes([string]$f.temp)
    $actual = Get-Sha256Hex $data
    if ($actual -ne [string]$f.sha256) {
      Stop-Install 'hash_mismatch' ('{0} has SHA-256 {1} on the host, expected {2}' -f $f.temp, $actual, $f.sha256)
    }
    $bytes[[string]$f.temp] = $data
  }
  $changed = New-Object System.Collections.Generic.List[string]

  # 2. the PFX opens with this password, before anything is trusted or stored
  $pfxBytes = $bytes[[string]$In.pfx.temp]
  $password = [string]$In.password
  $thumbprint = Get-PfxThumbprint $pfxBytes $password

  # 3. CA certificates: self-signed into Root, intermediates into CA
  foreach ($f in @($In.caFiles)) {
    $ca = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (,$bytes[[string]$f.temp])
    $selfSigned = [System.Convert]::ToBase64String($ca.SubjectName.RawData) -eq [System.Convert]::ToBase64String($ca.IssuerName.RawData)
    $storeName = 'CA'
    if ($selfSigned) { $storeName = 'Root' }
    $store = Open-Store $storeName
    try {
      if ((Find-Thumbprint $store $ca.Thumbprint).Count -eq 0) {
        $store.Add($ca)
        $changed.Add(('store:LocalMachine\{0}:{1}' -f $storeName, $ca.Thumbprint))
      }
    } finally {
      $store.Close()
    }
  }

  # 4. the client certificate and its private key's ACL
  $my = Open-Store 'My'
  try {
    $keyFile = $null
    $present = Find-Thumbprint $my $thumbprint
    if ($present.Count -gt 0 -and $present[0].HasPrivateKey) { $keyFile = Find-KeyFile $present[0] }
    if ($null -eq $keyFile) {
      $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::MachineKeySet -bor [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::PersistKeySet
      $imported = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2Collection
      $imported.Import($pfxBytes, $password, $flags)
      $leaf = @($imported | Where-Object { $_.HasPrivateKey -and $_.Thumbprint -eq $thumbprint })
      if ($leaf.Count -ne 1) { Stop-Install 'failed' 'the PFX changed between two reads' }
      $leaf[0].FriendlyName = 'certfleet ' + [string]$In.name
      $my.Add($leaf[0])
      $changed.Add(('store:LocalMachine\My:{0}' -f $thumbprint))
      $stored = Find-Thumbprint $my $thumbprint
      $keyFile = Find-KeyFile $stored[0]
      if ($null -eq $keyFile) { Stop-Install 'failed' ('imported {0} but cannot find its private key file' -f $thumbprint) }
    }
    foreach ($sid in $ReaderSids) {
      if (-not (Test-ReadAccess $keyFile $sid)) {
        Grant-ReadAccess $keyFile $sid
        $changed.Add(('acl:{0}' -f $sid))
      }
    }
  } finally {
    $my.Close()
  }

  # 5. the files, CA files first: once the new .pfx is visible, its chain is too
  foreach ($f in $files) {
    $final = [string]$f.path
    $temp = [string]$f.temp
    if ([System.IO.File]::Exists($final)) {
      if ((Get-Sha256Hex ([System.IO.File]::ReadAllBytes($final))) -eq [string]$f.sha256) {
        [System.IO.File]::Delete($temp)
        continue
      }
      [System.IO.File]::Replace($temp, $final, [NullString]::Value, $true)
    } else {
      [System.IO.File]::Move($temp, $final)
    }
    $changed.Add(('file:{0}' -f $final))
  }

  Send-Answer ([ordered]@{ thumbprint = $thumbprint; store = '${WINDOWS_STORE}'; path = [string]$In.pfx.path; changed = $changed.ToArray() })
  exit 0
} catch {
  $code = Get-FailureCode $_.Exception
  $message = Get-FailureMessage $_.Exception
  foreach ($t in $temps) {
    try { if ([System.IO.File]::Exists($t)) { [System.IO.File]::Delete($t) } } catch { }
  }
  Send-Answer ([ordered]@{ error = $code; message = $message })
  exit 2
}
`;

/** One file the script checks and moves: Windows paths. */
export interface WindowsScriptFile {
  /** Final path, e.g. `D:\Certificates\acme.pfx`. */
  path: string;
  /** Where it was uploaded, in the same directory. */
  temp: string;
  /** Lowercase hex SHA-256 of the bytes sent. */
  sha256: string;
}

/** The script's inputs; they reach it as `$In`. */
export interface WindowsScriptInput {
  version: typeof WINDOWS_PROTOCOL;
  /** The certificate name (already checked against CERT_NAME). */
  name: string;
  /** The install directory in Windows form (`D:\Certificates`, `D:\`). */
  dir: string;
  pfx: WindowsScriptFile;
  /** In chain order: `<name>.ca1.cer` first. */
  caFiles: WindowsScriptFile[];
  /** The PFX password: only ever in this document, on stdin. */
  password: string;
}

/** What the script reports on success. */
export interface WindowsSuccess {
  thumbprint: string;
  store: string;
  path: string;
  changed: string[];
}

/** What the script reports when it fails (exit code 2). */
export interface WindowsFailure {
  error: string;
  message: string;
}

/**
 * JSON with every character outside printable ASCII written as a `\uXXXX` escape: the
 * bytes on the wire are ASCII, so no code page on the host can alter them.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The stdin document for the bootstrap: the script and its inputs, one ASCII JSON line. */
export function windowsStdin(input: WindowsScriptInput): string {
  return `${asciiJson({ script: WINDOWS_INSTALL_SCRIPT, input })}\n`;
}

const THUMBPRINT = /^[0-9A-Fa-f]{40}$/;

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/**
 * The script's answer: the last line of stdout that is a JSON object of either shape.
 * Undefined when there is none (PowerShell itself failed, or something else answered).
 */
export function parseWindowsAnswer(stdout: string): WindowsSuccess | WindowsFailure | undefined {
  const lines = stdout.split(/\r?\n/).filter((l) => l.trim().startsWith('{'));
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(last);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['error'] === 'string') {
    return { error: v['error'], message: typeof v['message'] === 'string' ? v['message'] : '' };
  }
  // ConvertTo-Json in Windows PowerShell writes a one-element string array as the string itself
  // when it is not inside a collection; accept both.
  const changed = typeof v['changed'] === 'string' ? [v['changed']] : v['changed'];
  if (
    typeof v['thumbprint'] === 'string' &&
    THUMBPRINT.test(v['thumbprint']) &&
    typeof v['store'] === 'string' &&
    typeof v['path'] === 'string' &&
    isStringArray(changed)
  ) {
    return { thumbprint: v['thumbprint'].toUpperCase(), store: v['store'], path: v['path'], changed };
  }
  return undefined;
}

/** True for an answer from a failed script. */
export function isWindowsFailure(answer: WindowsSuccess | WindowsFailure): answer is WindowsFailure {
  return 'error' in answer;
}

/**
 * Windows PowerShell sometimes writes stderr as CLIXML (`#< CLIXML` then `<S S="Error">`
 * elements with `_x000D__x000A_` escapes); this turns it back into text.
 */
export function readableStderr(stderr: string): string {
  const text = stderr.replace(/^\uFEFF/, '');
  if (!text.trimStart().startsWith('#< CLIXML')) return text;
  const parts = [...text.matchAll(/<S S="Error">([\s\S]*?)<\/S>/g)].map((m) => m[1]!);
  return parts
    .join('')
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
