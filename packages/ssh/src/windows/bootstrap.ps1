# certfleet bootstrap: sent as -EncodedCommand to powershell.exe; constant, holds no input.
# stdin, three ASCII lines: base64 (UTF-8) of the script; the inputs as JSON; base64 (UTF-8)
# of the PFX password (empty for scripts that take none). Only .NET reads stdin, so no
# cmdlet parameter ever holds the password (Module Logging records those, event 4103).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
  '{"error":"constrained_language","message":"PowerShell runs in ' + $ExecutionContext.SessionState.LanguageMode + ' for this user (an AppLocker or WDAC policy): certfleet needs FullLanguage"}'
  exit 2
}
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
$certfleetStdin = New-Object System.IO.StreamReader -ArgumentList ([Console]::OpenStandardInput()), ([System.Text.Encoding]::ASCII)
$certfleetScript = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($certfleetStdin.ReadLine()))
$certfleetInput = ConvertFrom-Json -InputObject $certfleetStdin.ReadLine()
& ([ScriptBlock]::Create($certfleetScript)) $certfleetInput $certfleetStdin
exit $LASTEXITCODE
