# Test prelude: runs before certfleet's bootstrap under PowerShell 7 on Linux and replaces
# the install script's Windows-only functions with aliases (an alias wins over a function
# of the same name, whatever its scope: the same trick as Pester's Mock). Everything else
# the script does is its own code. The emulated host lives in $env:CERTFLEET_WINDOWS_HOST:
#   D/..., C/...     the drives (Get-LocalPath maps D:\x\y to D/x/y)
#   .home            HOME, so the stores are .NET's CurrentUser stores under .home/.dotnet
#   .keys.json       the private keys: thumbprint -> list of { provider, readers }, newest last
#   .windows-host.json  what the test sets: facts, accounts, bindings, faults, languageMode, trace
# (languageMode is applied by windows-powershell.ps1, just before the bootstrap runs.)
$CertfleetHost = $env:CERTFLEET_WINDOWS_HOST
$CertfleetConfig = @{}
$configPath = Join-Path $CertfleetHost '.windows-host.json'
if (Test-Path $configPath) { $CertfleetConfig = Get-Content -Raw $configPath | ConvertFrom-Json -AsHashtable }
if ($CertfleetConfig['trace']) {
  Set-TraceSource -Name ParameterBinding -Option ExecutionFlow -FilePath $CertfleetConfig['trace'] -ListenerOption None
}

function global:Read-TestKeys {
  $path = Join-Path $CertfleetHost '.keys.json'
  if (Test-Path $path) { return Get-Content -Raw $path | ConvertFrom-Json -AsHashtable }
  return @{}
}
function global:Write-TestKeys($Keys) {
  Set-Content -Path (Join-Path $CertfleetHost '.keys.json') -Value (ConvertTo-Json -InputObject $Keys -Depth 5)
}

function global:Test-GetHostFacts {
  $facts = @{ DotNetRelease = 528040; Fips = $false; ModuleLogging = $false; DefaultShell = 'cmd.exe' }
  if ($CertfleetConfig['facts']) { foreach ($k in $CertfleetConfig['facts'].Keys) { $facts[$k] = $CertfleetConfig['facts'][$k] } }
  return $facts
}

function global:Test-OpenCertStore([string]$Name) {
  $store = [System.Security.Cryptography.X509Certificates.X509Store]::new($Name, 'CurrentUser')
  $store.Open('ReadWrite')
  return , $store
}

function global:Test-OpenCertStoreForReading([string]$Name) {
  $store = [System.Security.Cryptography.X509Certificates.X509Store]::new($Name, 'CurrentUser')
  $store.Open('ReadOnly')
  return , $store
}

function global:Test-GetLocalPath([string]$Path) {
  if ($Path -notmatch '^([A-Za-z]):\\(.*)$') { throw [System.IO.DirectoryNotFoundException]::new("Could not find a part of the path '$Path'.") }
  return [System.IO.Path]::Combine($CertfleetHost, $Matches[1].ToUpperInvariant(), $Matches[2].Replace('\', '/'))
}

function global:Test-ResolveReaderSid([string]$Identity) {
  $accounts = @{ 'IIS_IUSRS' = 'S-1-5-32-568'; 'NT AUTHORITY\NETWORK SERVICE' = 'S-1-5-20' }
  if ($CertfleetConfig['accounts']) { foreach ($k in $CertfleetConfig['accounts'].Keys) { $accounts[$k] = $CertfleetConfig['accounts'][$k] } }
  foreach ($k in $accounts.Keys) {
    if ($k -eq $Identity -or $accounts[$k] -eq $Identity) { return $accounts[$k] }
  }
  return $null
}

# The key stays with the certificate in .NET's store; its provider and ACL are recorded.
function global:Test-ImportClientKey($Leaf, [string]$Provider) {
  if ($CertfleetConfig['importFault']) {
    $e = [System.Security.Cryptography.CryptographicException]::new('The parameter is incorrect.')
    $e.HResult = [int]$CertfleetConfig['importFault']
    throw $e
  }
  # .NET's store on Linux keeps a key only when it was imported persisted: a copy through an
  # unprotected in-memory PFX gives one (test only: the real function copies the key into CNG)
  $persisted = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($Leaf.Export('Pfx', ''), '', 'Exportable, PersistKeySet')
  $keys = Read-TestKeys
  $keys[$Leaf.Thumbprint] = @(@($keys[$Leaf.Thumbprint] | Where-Object { $_ }) + @{ provider = $Provider; readers = @() })
  Write-TestKeys $keys
  return $persisted
}

function global:Test-GetKeyInfo($Cert) {
  if (-not $Cert.HasPrivateKey) { return $null }
  $records = @((Read-TestKeys)[$Cert.Thumbprint] | Where-Object { $_ })
  if ($records.Count -eq 0) { return $null }
  $last = $records[-1]
  return @{ Provider = $last.provider; ReaderSids = @($last.readers) }
}

function global:Test-GrantKeyRead($Cert, [string]$Sid) {
  if ($CertfleetConfig['aclIgnored']) { return }
  $keys = Read-TestKeys
  $records = @($keys[$Cert.Thumbprint])
  $records[-1].readers = @(@($records[-1].readers) + $Sid)
  $keys[$Cert.Thumbprint] = $records
  Write-TestKeys $keys
}

# Called with an older certificate object: its oldest key record goes (all of them when the
# certificate leaves the store).
function global:Test-RemoveClientKey($Cert) {
  $keys = Read-TestKeys
  $records = @($keys[$Cert.Thumbprint] | Where-Object { $_ })
  if ($records.Count -gt 1) { $keys[$Cert.Thumbprint] = @($records | Select-Object -Skip 1) } else { $keys.Remove($Cert.Thumbprint) }
  Write-TestKeys $keys
}

# .NET on Linux cannot store a FriendlyName: .names.json holds them.
function global:Test-SetFriendlyName($Cert, [string]$Name) {
  $path = Join-Path $CertfleetHost '.names.json'
  $names = @{}
  if (Test-Path $path) { $names = Get-Content -Raw $path | ConvertFrom-Json -AsHashtable }
  $names[$Cert.Thumbprint] = $Name
  Set-Content -Path $path -Value (ConvertTo-Json -InputObject $names)
}
function global:Test-GetFriendlyName($Cert) {
  $path = Join-Path $CertfleetHost '.names.json'
  if (-not (Test-Path $path)) { return '' }
  return [string](Get-Content -Raw $path | ConvertFrom-Json -AsHashtable)[$Cert.Thumbprint]
}

function global:Test-GetBoundThumbprints {
  return , [string[]]@($CertfleetConfig['bindings'] | Where-Object { $_ })
}

# replaceFault: what ReplaceFileW error 1176 leaves (the old file moved to the backup
# name, the new one not moved in, the final path empty).
function global:Test-InvokeFileReplace([string]$Temp, [string]$Final, [string]$Backup) {
  if ($CertfleetConfig['replaceFault']) {
    [System.IO.File]::Move($Final, $Backup)
    $e = [System.IO.IOException]::new('Unable to move the replacement file to the file to be replaced.')
    $e.HResult = [int]0x80070498
    throw $e
  }
  [System.IO.File]::Replace($Temp, $Final, $Backup, $true)
}

foreach ($name in 'Get-HostFacts', 'Open-CertStore', 'Open-CertStoreForReading', 'Get-LocalPath', 'Resolve-ReaderSid', 'Import-ClientKey', 'Get-KeyInfo',
  'Grant-KeyRead', 'Remove-ClientKey', 'Get-BoundThumbprints', 'Invoke-FileReplace', 'Set-FriendlyName', 'Get-FriendlyName') {
  Set-Alias -Name $name -Value ('Test-' + $name.Replace('-', '')) -Scope Global
}
