# Stands in for powershell.exe on the in-process Windows host: takes the arguments the
# bootstrap command line gives powershell.exe, loads the test prelude (the install script's
# Windows-only functions), then lets PowerShell decode and run the -EncodedCommand.
param([switch]$NoProfile, [switch]$NonInteractive, [string]$ExecutionPolicy, [string]$EncodedCommand)
if (-not ($NoProfile -and $NonInteractive -and $EncodedCommand)) {
  [Console]::Error.WriteLine('in-process windows host: powershell without -NoProfile -NonInteractive -EncodedCommand')
  exit 1
}
. (Join-Path $PSScriptRoot 'windows-prelude.ps1')
$bootstrap = [System.Text.Encoding]::Unicode.GetString([System.Convert]::FromBase64String($EncodedCommand))
if ($CertfleetConfig['languageMode']) {
  # what an AppLocker/WDAC policy does to powershell.exe; a script block keeps the language
  # mode it was created in, so the bootstrap is created after the switch
  $ExecutionContext.SessionState.LanguageMode = $CertfleetConfig['languageMode']
  Invoke-Expression $bootstrap
} else {
  & ([ScriptBlock]::Create($bootstrap))
}
exit $LASTEXITCODE
