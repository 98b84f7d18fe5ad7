# certfleet install script, protocol 2. Windows PowerShell 5.1 on .NET Framework 4.7.2+.
# `$In.action = 'doctor'` reports what the install depends on instead, changing nothing;
# `$In.action = 'verify'` reports what is in place of installed certificates (drift check),
# changing nothing either; `$In.action = 'uninstall'` removes one certificate name (below).
# Inputs come from $In (JSON on stdin); the PFX password is the next stdin line, read
# with .NET and kept in $Pfx, a hashtable, only until the PFX is opened (once): no cmdlet
# or function parameter ever holds it.
# Prints one ASCII JSON line: success {thumbprint, store, path, keyProvider, changed, kept}
# (exit 0) or {error, message} (exit 2).
param($In, $Stdin)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

$X509 = 'System.Security.Cryptography.X509Certificates'
$DefaultProvider = 'Microsoft Software Key Storage Provider'
# .NET Framework 4.7.2: EphemeralKeySet and CopyWithPrivateKey
$MinimumDotNetRelease = 461808
$BackupSuffix = '.certfleet-backup'

# ---------------------------------------------------------------------------------------
# Windows-only steps. Everything else in this file runs unchanged under PowerShell 7 on
# Linux in certfleet's tests; these functions are replaced there (by aliases of the same
# name, test/support/windows-prelude.ps1), so they must stay small.

function Get-HostFacts {
  $release = 0
  $ndp = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' -Name Release -ErrorAction SilentlyContinue
  if ($null -ne $ndp) { $release = [int]$ndp.Release }
  $fips = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy' -Name Enabled -ErrorAction SilentlyContinue
  $logging = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\PowerShell\ModuleLogging' -Name EnableModuleLogging -ErrorAction SilentlyContinue
  $shell = Get-ItemProperty -Path 'HKLM:\SOFTWARE\OpenSSH' -Name DefaultShell -ErrorAction SilentlyContinue
  $defaultShell = 'cmd.exe'
  if ($null -ne $shell -and $shell.DefaultShell) { $defaultShell = [string]$shell.DefaultShell }
  return @{
    DotNetRelease = $release
    Fips = ($null -ne $fips -and [int]$fips.Enabled -ne 0)
    ModuleLogging = ($null -ne $logging -and [int]$logging.EnableModuleLogging -ne 0)
    DefaultShell = $defaultShell
  }
}

function Open-CertStore([string]$Name) {
  $store = New-Object "$X509.X509Store" -ArgumentList $Name, ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
  $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
  return , $store
}

# The drift check reads: OpenExistingOnly creates nothing, ReadOnly changes nothing.
function Open-CertStoreForReading([string]$Name) {
  $store = New-Object "$X509.X509Store" -ArgumentList $Name, ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
  $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]'ReadOnly, OpenExistingOnly')
  return , $store
}

function Get-LocalPath([string]$Path) { return $Path }

# certfleet finds its certificates by FriendlyName `certfleet <name>` (a rotation).
function Set-FriendlyName($Cert, [string]$Name) { $Cert.FriendlyName = $Name }
function Get-FriendlyName($Cert) { return $Cert.FriendlyName }

function Resolve-ReaderSid([string]$Identity) {
  if ($Identity -match '^S-1-[0-9-]+$') { $account = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $Identity }
  else { $account = New-Object System.Security.Principal.NTAccount -ArgumentList $Identity }
  try { return $account.Translate([System.Security.Principal.SecurityIdentifier]).Value } catch { return $null }
}

# A persisted key in $Provider (a CNG key storage provider), machine-wide, not exportable,
# and a copy of the leaf linked to it. $Leaf is the opened PFX's leaf (ephemeral, exportable
# key); the key is imported by setting its private blob as a property before the key is
# finalized (what CNG does for a named import).
function Import-ClientKey($Leaf, [string]$Provider) {
  $cng = [System.Security.Cryptography.CngKeyBlobFormat]::GenericPrivateBlob
  $rsa = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Leaf)
  if ($null -ne $rsa) { $algorithm = [System.Security.Cryptography.CngAlgorithm]::Rsa; $source = $rsa }
  else {
    $source = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($Leaf)
    $algorithm = $source.Key.Algorithm
  }
  $blob = $source.Key.Export($cng)
  $parameters = New-Object System.Security.Cryptography.CngKeyCreationParameters
  $parameters.Provider = New-Object System.Security.Cryptography.CngProvider -ArgumentList $Provider
  $parameters.KeyCreationOptions = [System.Security.Cryptography.CngKeyCreationOptions]::MachineKey
  $parameters.ExportPolicy = [System.Security.Cryptography.CngExportPolicies]::None
  $parameters.Parameters.Add((New-Object System.Security.Cryptography.CngProperty -ArgumentList $cng.Format, $blob, ([System.Security.Cryptography.CngPropertyOptions]::None)))
  $key = [System.Security.Cryptography.CngKey]::Create($algorithm, ('certfleet-' + [guid]::NewGuid().ToString('N')), $parameters)
  $public = New-Object "$X509.X509Certificate2" -ArgumentList (, $Leaf.RawData)
  if ($null -ne $rsa) { return [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::CopyWithPrivateKey($public, (New-Object System.Security.Cryptography.RSACng -ArgumentList $key)) }
  return [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::CopyWithPrivateKey($public, (New-Object System.Security.Cryptography.ECDsaCng -ArgumentList $key))
}

# The key's ACL is read and written through the key itself (CNG "Security Descr",
# DACL_SECURITY_INFORMATION; CAPI: CryptoKeySecurity): no guessing of key file paths.
$DaclInformation = 4
$GenericRead = 0x80000000
$KeyRead = 0x00000089

function Get-CertKey($Cert) {
  $key = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Cert)
  if ($null -eq $key) { $key = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($Cert) }
  return $key
}

function Get-KeyInfo($Cert) {
  if (-not $Cert.HasPrivateKey) { return $null }
  try { $key = Get-CertKey $Cert } catch { return $null }
  if ($null -eq $key) { return $null }
  $readers = New-Object System.Collections.Generic.List[string]
  if ($key -is [System.Security.Cryptography.RSACryptoServiceProvider]) {
    $info = $key.CspKeyContainerInfo
    foreach ($rule in $info.CryptoKeySecurity.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
      if ($rule.AccessControlType -eq 'Allow' -and ($rule.CryptoKeyRights -band [System.Security.AccessControl.CryptoKeyRights]::ReadData)) { $readers.Add($rule.IdentityReference.Value) }
    }
    return @{ Provider = $info.ProviderName; ReaderSids = $readers.ToArray() }
  }
  $descriptor = $key.Key.GetProperty('Security Descr', [System.Security.Cryptography.CngPropertyOptions]$DaclInformation).GetValue()
  $sd = New-Object System.Security.AccessControl.RawSecurityDescriptor -ArgumentList $descriptor, 0
  foreach ($ace in $sd.DiscretionaryAcl) {
    if ($ace.AceType -eq 'AccessAllowed' -and (($ace.AccessMask -band $GenericRead) -or (($ace.AccessMask -band $KeyRead) -eq $KeyRead))) { $readers.Add($ace.SecurityIdentifier.Value) }
  }
  return @{ Provider = $key.Key.Provider.Provider; ReaderSids = $readers.ToArray() }
}

function Grant-KeyRead($Cert, [string]$Sid) {
  $key = Get-CertKey $Cert
  $identity = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $Sid
  if ($key -is [System.Security.Cryptography.RSACryptoServiceProvider]) {
    $info = $key.CspKeyContainerInfo
    $parameters = New-Object System.Security.Cryptography.CspParameters -ArgumentList $info.ProviderType, $info.ProviderName, $info.KeyContainerName
    $parameters.Flags = [System.Security.Cryptography.CspProviderFlags]'UseMachineKeyStore, UseExistingKey'
    $parameters.CryptoKeySecurity = $info.CryptoKeySecurity
    $parameters.CryptoKeySecurity.AddAccessRule((New-Object System.Security.AccessControl.CryptoKeyAccessRule -ArgumentList $identity, ([System.Security.AccessControl.CryptoKeyRights]::GenericRead), ([System.Security.AccessControl.AccessControlType]::Allow)))
    $null = New-Object System.Security.Cryptography.RSACryptoServiceProvider -ArgumentList $parameters
    return
  }
  $options = [System.Security.Cryptography.CngPropertyOptions]$DaclInformation
  $descriptor = $key.Key.GetProperty('Security Descr', $options).GetValue()
  $sd = New-Object System.Security.AccessControl.CommonSecurityDescriptor -ArgumentList $false, $false, $descriptor, 0
  $sd.DiscretionaryAcl.AddAccess([System.Security.AccessControl.AccessControlType]::Allow, $identity, [int]$GenericRead, 'None', 'None')
  $bytes = New-Object byte[] $sd.BinaryLength
  $sd.GetBinaryForm($bytes, 0)
  $key.Key.SetProperty((New-Object System.Security.Cryptography.CngProperty -ArgumentList 'Security Descr', $bytes, $options))
}

function Remove-ClientKey($Cert) {
  $key = Get-CertKey $Cert
  if ($null -eq $key) { return }
  if ($key -is [System.Security.Cryptography.RSACryptoServiceProvider]) {
    $key.PersistKeyInCsp = $false
    $key.Clear()
  } else {
    $key.Key.Delete()
  }
}

# Thumbprints of the certificates bound to HTTPS endpoints (IIS bindings live in HTTP.sys).
function Get-BoundThumbprints {
  $found = New-Object System.Collections.Generic.List[string]
  foreach ($root in @('SslBindingInfo', 'SslSniBindingInfo', 'SslCcsBindingInfo')) {
    $path = 'HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\' + $root
    foreach ($binding in @(Get-ChildItem -Path $path -ErrorAction SilentlyContinue)) {
      $hash = $binding.GetValue('SslCertHash')
      if ($hash -is [byte[]]) { $found.Add([System.BitConverter]::ToString($hash).Replace('-', '')) }
    }
  }
  return , $found.ToArray()
}

# ReplaceFileW: swaps the new file in and keeps the old one's ACL; the old one stays at
# $Backup until the swap succeeded.
function Invoke-FileReplace([string]$Temp, [string]$Final, [string]$Backup) {
  [System.IO.File]::Replace($Temp, $Final, $Backup, $true)
}

# ---------------------------------------------------------------------------------------
# The install, the same on every platform.

function ConvertTo-AsciiJson($Value) {
  $json = ConvertTo-Json -InputObject $Value -Compress -Depth 5
  return [regex]::Replace($json, '[^\x20-\x7E]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
}

function Send-Answer($Value) {
  [Console]::Out.WriteLine((ConvertTo-AsciiJson $Value))
  [Console]::Out.Flush()
}

function Stop-Install([string]$Code, [string]$Message) {
  $failure = New-Object System.Exception -ArgumentList $Message
  $failure.Data['certfleet'] = $Code
  throw $failure
}

# Windows' words for an HRESULT 0x8007xxxx; `Password` says what 0x80070056 means here:
# only the probe knows that the password is at fault.
function Get-FailureCode($Exception, [string]$Win32Error86) {
  for ($e = $Exception; $null -ne $e; $e = $e.InnerException) {
    if ($e.Data.Contains('certfleet')) { return [string]$e.Data['certfleet'] }
    if ($e -is [System.UnauthorizedAccessException]) { return 'permission_denied' }
    if ((($e.HResult -shr 16) -band 0xFFFF) -eq 0x8007) {
      switch ($e.HResult -band 0xFFFF) {
        5 { return 'permission_denied' }
        39 { return 'disk_full' }
        112 { return 'disk_full' }
        86 { if ($Win32Error86) { return $Win32Error86 } }
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

# SHA256CryptoServiceProvider is FIPS-validated; SHA256.Create() gives SHA256Managed on
# .NET Framework, which throws when the FIPS policy is on.
function Get-Sha256Hex([byte[]]$Bytes) {
  $sha = New-Object System.Security.Cryptography.SHA256CryptoServiceProvider
  try { return [System.BitConverter]::ToString($sha.ComputeHash($Bytes)).Replace('-', '').ToLowerInvariant() }
  finally { $sha.Dispose() }
}

# A Windows path `<Dir>\<file>`, checked as text (the same on every platform).
function Assert-InDir([string]$Path, [string]$Dir) {
  $prefix = $Dir.TrimEnd('\') + '\'
  $file = ''
  if ($Path.StartsWith($prefix, [System.StringComparison]::OrdinalIgnoreCase)) { $file = $Path.Substring($prefix.Length) }
  if ($Dir -notmatch '^[A-Za-z]:\\' -or $file -eq '' -or $file.IndexOfAny([char[]]'\/:') -ge 0) {
    Stop-Install 'invalid_input' ('{0} is not a file in {1}' -f $Path, $Dir)
  }
}

function Assert-Text($Value, [string]$Field) {
  if ($Value -isnot [string] -or $Value -eq '') { Stop-Install 'invalid_input' ('{0} is missing or not text' -f $Field) }
}

function Find-Thumbprint($Store, [string]$Thumbprint) {
  return , $Store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $Thumbprint, $false)
}

# Opens the PFX once, without persisting its key (EphemeralKeySet: nothing is written
# anywhere, and no user profile or DPAPI is needed; Exportable: Import-ClientKey copies the
# key from it), keeps it in $Pfx.Open and $Pfx.Leaf and forgets the password. The only step
# whose 0x80070056 means a wrong password.
function Open-Pfx($Pfx) {
  $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]
  $Pfx.Open = New-Object "$X509.X509Certificate2Collection"
  try {
    $Pfx.Open.Import($Pfx.Bytes, $Pfx.Password, ([Enum]::Parse($flags, 'EphemeralKeySet') -bor $flags::Exportable))
  } catch {
    if ((Get-FailureCode $_.Exception 'bad_password') -eq 'bad_password') {
      Stop-Install 'bad_password' (Get-FailureMessage $_.Exception)
    }
    throw
  } finally {
    $Pfx.Password = $null
  }
  $leaf = @($Pfx.Open | Where-Object { $_.HasPrivateKey })
  if ($leaf.Count -ne 1) { Stop-Install 'failed' ('the PFX holds {0} certificates with a private key; expected exactly one' -f $leaf.Count) }
  $Pfx.Leaf = $leaf[0]
}

# Releases the opened PFX's ephemeral keys.
function Close-Pfx($Pfx) {
  if ($null -ne $Pfx -and $Pfx.ContainsKey('Open') -and $null -ne $Pfx.Open) {
    foreach ($c in $Pfx.Open) { $c.Reset() }
  }
}

function Assert-SupportedHost($Facts) {
  if ($Facts.DotNetRelease -lt $MinimumDotNetRelease) {
    Stop-Install 'unsupported_host' ('.NET Framework 4.7.2 or later is needed (release {0}); this host has release {1}. Without it a PFX cannot be opened without a user profile.' -f $MinimumDotNetRelease, $Facts.DotNetRelease)
  }
}

# Each reader (a SID, IIS_IUSRS, `IIS AppPool\<pool>`, `NT SERVICE\<name>`) as a SID on
# this host; an identity the host does not know stops the install before anything changes.
function Resolve-Readers($Identities) {
  $sids = New-Object System.Collections.Generic.List[string]
  $unknown = New-Object System.Collections.Generic.List[string]
  foreach ($identity in @($Identities)) {
    Assert-Text $identity 'readers[]'
    $sid = Resolve-ReaderSid $identity
    if ($null -eq $sid) { $unknown.Add($identity) } elseif (-not $sids.Contains($sid)) { $sids.Add($sid) }
  }
  if ($unknown.Count -gt 0) {
    Stop-Install 'unknown_reader' ('this host knows no account {0}' -f ($unknown -join ', '))
  }
  return , $sids.ToArray()
}

# The certificate with the private key in $Provider, readable by $ReaderSids; imports it
# when the store lacks it or holds it with a key elsewhere (whose key is then deleted).
function Install-ClientCertificate($My, $Pfx, [string]$Thumbprint, [string]$Provider, $ReaderSids, $Changed) {
  $present = Find-Thumbprint $My $Thumbprint
  $info = $null
  if ($present.Count -gt 0) { $info = Get-KeyInfo $present[0] }
  if ($null -eq $info -or $info.Provider -ne $Provider) {
    try {
      $cert = Import-ClientKey $Pfx.Leaf $Provider
      $My.Add($cert)
      Set-FriendlyName @(Find-Thumbprint $My $Thumbprint)[0] ('certfleet ' + [string]$In.name)
    } catch {
      $code = Get-FailureCode $_.Exception 'key_store_failed'
      if ($code -eq 'failed') { $code = 'key_store_failed' }
      Stop-Install $code ('the password opened the PFX, but putting its key into {0} in the machine key store failed: {1}' -f $Provider, (Get-FailureMessage $_.Exception))
    }
    $Changed.Add(('store:LocalMachine\My:{0}' -f $Thumbprint))
    if ($null -ne $info) {
      Remove-ClientKey $present[0]
      $Changed.Add(('removed:key:{0}:{1}' -f $info.Provider, $Thumbprint))
    }
    $present = Find-Thumbprint $My $Thumbprint
    $info = Get-KeyInfo $present[0]
    if ($null -eq $info) { Stop-Install 'key_store_failed' ('imported {0} but its private key is not reachable from the store' -f $Thumbprint) }
  }
  foreach ($sid in $ReaderSids) {
    if ($info.ReaderSids -notcontains $sid) {
      Grant-KeyRead $present[0] $sid
      $Changed.Add(('acl:{0}' -f $sid))
    }
  }
  $after = Get-KeyInfo $present[0]
  $missing = @($ReaderSids | Where-Object { $after.ReaderSids -notcontains $_ })
  if ($missing.Count -gt 0) { Stop-Install 'key_store_failed' ('the private key of {0} still gives no Read to {1}' -f $Thumbprint, ($missing -join ', ')) }
  return $after.Provider
}

# A rotation: earlier certificates of this name leave LocalMachine\My with their keys,
# unless an HTTPS binding still uses one (kept and reported), or the job names it in
# $In.keep: the previous version, which stays until the next install of this name so that
# a rollback finds it on every front-end while the rotation is still under way elsewhere.
function Remove-Superseded($My, [string]$Thumbprint, $Changed, $Kept) {
  $friendly = 'certfleet ' + [string]$In.name
  $bound = Get-BoundThumbprints
  $previous = @()
  if ($In.PSObject.Properties['keep'] -and $null -ne $In.keep) { $previous = @($In.keep | ForEach-Object { ([string]$_).ToUpperInvariant() }) }
  foreach ($old in @($My.Certificates | Where-Object { $_.Thumbprint -ne $Thumbprint -and (Get-FriendlyName $_) -eq $friendly })) {
    if ($previous -contains $old.Thumbprint) {
      $Kept.Add(('LocalMachine\My:{0}: the previous version, kept for a rollback' -f $old.Thumbprint))
      continue
    }
    if ($bound -contains $old.Thumbprint) {
      $Kept.Add(('LocalMachine\My:{0}: still used by an IIS (HTTP.sys) binding' -f $old.Thumbprint))
      continue
    }
    if ($old.HasPrivateKey) { Remove-ClientKey $old }
    $My.Remove($old)
    $Changed.Add(('removed:store:LocalMachine\My:{0}' -f $old.Thumbprint))
  }
}

# A final path left empty by an interrupted swap gets its previous file back.
function Restore-Backup([string]$Final) {
  $backup = $Final + $BackupSuffix
  if (-not [System.IO.File]::Exists($Final) -and [System.IO.File]::Exists($backup)) { [System.IO.File]::Move($backup, $Final) }
}

function Install-Files($Files, $Changed) {
  foreach ($f in $Files) {
    $final = Get-LocalPath ([string]$f.path)
    $temp = Get-LocalPath ([string]$f.temp)
    if ([System.IO.File]::Exists($final)) {
      if ((Get-Sha256Hex ([System.IO.File]::ReadAllBytes($final))) -eq [string]$f.sha256) {
        [System.IO.File]::Delete($temp)
        continue
      }
      $backup = $final + $BackupSuffix
      if ([System.IO.File]::Exists($backup)) { [System.IO.File]::Delete($backup) }
      Invoke-FileReplace $temp $final $backup
      [System.IO.File]::Delete($backup)
    } else {
      [System.IO.File]::Move($temp, $final)
    }
    $Changed.Add(('file:{0}' -f [string]$f.path))
  }
}

# Temporaries go, except one whose final path is empty (then it is the only copy).
function Remove-Temporaries($Files) {
  foreach ($f in $Files) {
    try {
      $final = Get-LocalPath ([string]$f.path)
      $temp = Get-LocalPath ([string]$f.temp)
      Restore-Backup $final
      if ([System.IO.File]::Exists($temp) -and [System.IO.File]::Exists($final)) { [System.IO.File]::Delete($temp) }
      elseif ([System.IO.File]::Exists($temp) -and -not $f.existed) { [System.IO.File]::Delete($temp) }
    } catch { }
  }
}

# What the install depends on, for `fleetctl doctor`: read-only.
function Get-Diagnosis($Identities) {
  $facts = Get-HostFacts
  $readers = @(foreach ($identity in @($Identities)) { [ordered]@{ identity = [string]$identity; sid = Resolve-ReaderSid ([string]$identity) } })
  return [ordered]@{
    powershell = $PSVersionTable.PSVersion.ToString()
    dotnetRelease = [int]$facts.DotNetRelease
    languageMode = [string]$ExecutionContext.SessionState.LanguageMode
    fips = [bool]$facts.Fips
    moduleLogging = [bool]$facts.ModuleLogging
    defaultShell = [string]$facts.DefaultShell
    readers = $readers
  }
}

# A file for the drift check: its length, and its SHA-256 only when the length is the
# expected one (a file of another length is not read whole).
function Get-FileFacts($File, [string]$Dir) {
  Assert-Text $File.path 'path'
  Assert-InDir $File.path $Dir
  $local = Get-LocalPath ([string]$File.path)
  $info = New-Object System.IO.FileInfo -ArgumentList $local
  if (-not $info.Exists) { return [ordered]@{ path = [string]$File.path; size = $null; sha256 = $null } }
  $sha = $null
  if ($info.Length -eq [long]$File.size) { $sha = Get-Sha256Hex ([System.IO.File]::ReadAllBytes($local)) }
  return [ordered]@{ path = [string]$File.path; size = [long]$info.Length; sha256 = $sha }
}

# What is in place of each certificate, for the drift check: read-only. certfleet compares.
function Get-Verification($Request) {
  if ($Request.version -ne 2) { Stop-Install 'invalid_input' ('protocol {0}, expected 2' -f $Request.version) }
  Assert-Text $Request.dir 'dir'
  $dir = [string]$Request.dir
  $readers = @(foreach ($identity in @($Request.readers)) {
      Assert-Text $identity 'readers[]'
      [ordered]@{ identity = [string]$identity; sid = Resolve-ReaderSid ([string]$identity) }
    })
  $my = Open-CertStoreForReading 'My'
  try {
    $certificates = @(foreach ($c in @($Request.certificates)) {
        Assert-Text $c.name 'name'
        Assert-Text $c.thumbprint 'thumbprint'
        $files = @(foreach ($f in @(@($c.pfx) + @($c.caFiles))) { Get-FileFacts $f $dir })
        $found = Find-Thumbprint $my ([string]$c.thumbprint)
        $key = $null
        if ($found.Count -gt 0) { $key = Get-KeyInfo $found[0] }
        $sids = @()
        if ($null -ne $key) { $sids = @($key.ReaderSids) }
        [ordered]@{ name = [string]$c.name; files = $files; inStore = ($found.Count -gt 0); hasKey = ($null -ne $key); readerSids = $sids }
      })
  } finally {
    $my.Close()
  }
  return [ordered]@{ certificates = $certificates; readers = $readers }
}

# --- uninstall (README: Uninstall) ------------------------------------------------------
# `$In.action = 'uninstall'` removes one certificate name: its key and LocalMachine\My entry
# (unless another environment on this host still has that thumbprint: $In.keep), the CA
# store entries of its CA files that no other certfleet certificate in My chains up to,
# then the files ($In.files, the .pfx first). Each step finds what is left, so a re-run
# after a crash finishes the rest. An HTTPS binding that uses it stops it before anything changes.

# Thumbprints of the CA certificates the certfleet certificates in My other than $Except
# chain up to, walking issuer names through Root and CA.
function Get-NeededCaThumbprints($My, [string]$Except) {
  $cas = New-Object System.Collections.Generic.List[object]
  foreach ($name in 'Root', 'CA') {
    $store = Open-CertStore $name
    try { foreach ($c in $store.Certificates) { $cas.Add($c) } } finally { $store.Close() }
  }
  $needed = New-Object System.Collections.Generic.List[string]
  foreach ($cert in @($My.Certificates | Where-Object { $_.Thumbprint -ne $Except -and (Get-FriendlyName $_) -like 'certfleet *' })) {
    $current = $cert
    for ($depth = 0; $depth -lt 16; $depth++) {
      $issuer = [System.Convert]::ToBase64String($current.IssuerName.RawData)
      if ($issuer -eq [System.Convert]::ToBase64String($current.SubjectName.RawData)) { break }
      # every CA of that name counts: one too many kept is harmless, one too few breaks a chain
      $parents = @($cas | Where-Object { [System.Convert]::ToBase64String($_.SubjectName.RawData) -eq $issuer })
      if ($parents.Count -eq 0) { break }
      foreach ($p in $parents) { $needed.Add($p.Thumbprint) }
      $current = $parents[0]
    }
  }
  return , $needed.ToArray()
}

function Invoke-Uninstall($Request) {
  if ($Request.version -ne 2) { Stop-Install 'invalid_input' ('protocol {0}, expected 2' -f $Request.version) }
  Assert-Text $Request.dir 'dir'
  Assert-Text $Request.name 'name'
  $dir = [string]$Request.dir
  $friendly = 'certfleet ' + [string]$Request.name
  $thumbprint = ''
  if ($Request.PSObject.Properties['thumbprint'] -and $Request.thumbprint) { $thumbprint = ([string]$Request.thumbprint).ToUpperInvariant() }
  $keep = @(@($Request.keep) | Where-Object { $_ } | ForEach-Object { ([string]$_).ToUpperInvariant() })
  $files = @(foreach ($f in @($Request.files) | Where-Object { $null -ne $_ }) { Assert-Text $f 'files[]'; Assert-InDir $f $dir; [string]$f })
  $caFiles = @(foreach ($f in @($Request.caFiles) | Where-Object { $null -ne $_ }) { Assert-Text $f 'caFiles[]'; Assert-InDir $f $dir; [string]$f })
  $removed = New-Object System.Collections.Generic.List[string]
  $kept = New-Object System.Collections.Generic.List[string]

  $my = Open-CertStore 'My'
  try {
    # the registry's certificate, and every other certfleet entry of this name (a previous version kept for a rollback)
    $mine = @($My.Certificates | Where-Object { ($thumbprint -ne '' -and $_.Thumbprint -eq $thumbprint) -or (Get-FriendlyName $_) -eq $friendly })
    $bound = Get-BoundThumbprints
    foreach ($cert in $mine) {
      if ($bound -contains $cert.Thumbprint) {
        Stop-Install 'in_use' ('LocalMachine\My:{0} is used by an IIS (HTTP.sys) binding; nothing was removed' -f $cert.Thumbprint)
      }
    }
    # 1. the client certificate: its key first (an entry without its key is found again; a key without its entry is not)
    foreach ($cert in $mine) {
      if ($keep -contains $cert.Thumbprint) {
        $kept.Add(('LocalMachine\My:{0}: another environment on this host has it installed' -f $cert.Thumbprint))
        continue
      }
      if ($cert.HasPrivateKey) {
        Remove-ClientKey $cert
        $removed.Add(('key:{0}' -f $cert.Thumbprint))
      }
      $My.Remove($cert)
      $removed.Add(('store:LocalMachine\My:{0}' -f $cert.Thumbprint))
    }
    # 2. CA entries of its CA files that no other certfleet certificate needs (before the files that name them)
    $needed = Get-NeededCaThumbprints $my $thumbprint
  } finally {
    $my.Close()
  }
  foreach ($path in $caFiles) {
    $local = Get-LocalPath $path
    if (-not [System.IO.File]::Exists($local)) { continue }
    $ca = New-Object "$X509.X509Certificate2" -ArgumentList (, [System.IO.File]::ReadAllBytes($local))
    if ($needed -contains $ca.Thumbprint) {
      $kept.Add(('LocalMachine\CA or Root:{0}: another certfleet certificate chains up to it' -f $ca.Thumbprint))
      continue
    }
    foreach ($storeName in 'Root', 'CA') {
      $store = Open-CertStore $storeName
      try {
        $present = Find-Thumbprint $store $ca.Thumbprint
        foreach ($found in $present) {
          $store.Remove($found)
          $removed.Add(('store:LocalMachine\{0}:{1}' -f $storeName, $ca.Thumbprint))
        }
      } finally {
        $store.Close()
      }
    }
  }
  # 3. the files, the .pfx first
  foreach ($path in $files) {
    $local = Get-LocalPath $path
    if ([System.IO.File]::Exists($local)) {
      [System.IO.File]::Delete($local)
      $removed.Add(('file:{0}' -f $path))
    }
  }
  return [ordered]@{ path = ('{0}\{1}.pfx' -f $dir.TrimEnd('\'), [string]$Request.name); removed = $removed.ToArray(); kept = $kept.ToArray() }
}

$files = @()
$Pfx = $null
if ($In.PSObject.Properties['action'] -and $In.action -eq 'doctor') {
  Send-Answer (Get-Diagnosis $In.readers)
  exit 0
}
if ($In.PSObject.Properties['action'] -and ($In.action -eq 'verify' -or $In.action -eq 'uninstall')) {
  try {
    if ($In.action -eq 'uninstall') { $answer = Invoke-Uninstall $In } else { $answer = Get-Verification $In }
  } catch {
    Send-Answer ([ordered]@{ error = (Get-FailureCode $_.Exception ''); message = (Get-FailureMessage $_.Exception) })
    exit 2
  }
  Send-Answer $answer
  exit 0
}
try {
  if ($In.version -ne 2) { Stop-Install 'invalid_input' ('protocol {0}, expected 2' -f $In.version) }
  Assert-Text $In.dir 'dir'
  Assert-Text $In.name 'name'
  $dir = [string]$In.dir
  foreach ($f in @(@($In.caFiles) + @($In.pfx))) {
    if ($null -eq $f) { Stop-Install 'invalid_input' 'a file entry is missing' }
    Assert-Text $f.path 'path'
    Assert-Text $f.temp 'temp'
    Assert-Text $f.sha256 'sha256'
    Assert-InDir $f.path $dir
    Assert-InDir $f.temp $dir
    $final = Get-LocalPath $f.path
    Restore-Backup $final
    $files += @{ path = $f.path; temp = $f.temp; sha256 = $f.sha256; existed = [System.IO.File]::Exists($final) }
  }
  Assert-SupportedHost (Get-HostFacts)
  $provider = $DefaultProvider
  if ($In.PSObject.Properties['keyProvider'] -and $In.keyProvider) { $provider = [string]$In.keyProvider }
  $readerSids = Resolve-Readers $In.readers

  # 1. what arrived is what was sent
  $bytes = @{}
  foreach ($f in $files) {
    $data = [System.IO.File]::ReadAllBytes((Get-LocalPath $f.temp))
    $actual = Get-Sha256Hex $data
    if ($actual -ne $f.sha256) {
      Stop-Install 'hash_mismatch' ('{0} has SHA-256 {1} on the host, expected {2}' -f $f.temp, $actual, $f.sha256)
    }
    $bytes[$f.temp] = $data
  }
  $changed = New-Object System.Collections.Generic.List[string]
  $kept = New-Object System.Collections.Generic.List[string]

  # 2. the PFX opens with this password, before anything is trusted or stored
  $Pfx = @{ Bytes = $bytes[[string]$In.pfx.temp]; Password = '' }
  $Pfx.Password = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Stdin.ReadLine()))
  Open-Pfx $Pfx
  $thumbprint = $Pfx.Leaf.Thumbprint

  # 3. CA certificates: self-signed into Root, intermediates into CA
  foreach ($f in $files | Where-Object { $_.temp -ne [string]$In.pfx.temp }) {
    $ca = New-Object "$X509.X509Certificate2" -ArgumentList (, $bytes[$f.temp])
    $storeName = 'CA'
    if ([System.Convert]::ToBase64String($ca.SubjectName.RawData) -eq [System.Convert]::ToBase64String($ca.IssuerName.RawData)) { $storeName = 'Root' }
    $store = Open-CertStore $storeName
    try {
      if ((Find-Thumbprint $store $ca.Thumbprint).Count -eq 0) {
        $store.Add($ca)
        $changed.Add(('store:LocalMachine\{0}:{1}' -f $storeName, $ca.Thumbprint))
      }
    } finally {
      $store.Close()
    }
  }

  # 4. the client certificate, its key's provider and ACL; then what it supersedes
  $my = Open-CertStore 'My'
  try {
    $keyProvider = Install-ClientCertificate $my $Pfx $thumbprint $provider $readerSids $changed
    Remove-Superseded $my $thumbprint $changed $kept
  } finally {
    $my.Close()
  }

  # 5. the files, CA files first: once the new .pfx is visible, its chain is too
  Install-Files $files $changed

  Close-Pfx $Pfx
  Send-Answer ([ordered]@{ thumbprint = $thumbprint; store = 'LocalMachine\My'; path = [string]$In.pfx.path; keyProvider = $keyProvider; changed = $changed.ToArray(); kept = $kept.ToArray() })
  exit 0
} catch {
  $code = Get-FailureCode $_.Exception ''
  $message = Get-FailureMessage $_.Exception
  Remove-Temporaries $files
  Close-Pfx $Pfx
  Send-Answer ([ordered]@{ error = $code; message = $message })
  exit 2
}
