# Stands in for powershell.exe on the in-process Windows host: takes the arguments the
# bootstrap command line gives powershell.exe, loads the test prelude (the install script's
# Windows-only functions), then lets PowerShell decode and run the -EncodedCommand.
param([switch]$NoProfile, [switch]$NonInteractive, [string]$ExecutionPolicy, [string]$EncodedCommand)
if (-not ($NoProfile -and $NonInteractive -and $EncodedCommand)) {
  [Console]::Error.WriteLine('in-process windows host: powershell without -NoProfile -NonInteractive -EncodedCommand')
  exit 1
}
. (Join-Path $PSScriptRoot 'windows-prelude.ps1')
& ([ScriptBlock]::Create([System.Text.Encoding]::Unicode.GetString([System.Convert]::FromBase64String($EncodedCommand))))
exit $LASTEXITCODE
