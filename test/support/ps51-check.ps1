# The Windows scripts' linter, run by pwsh in the tests: PowerShell's own parser
# (ParseFile) over each file, then a walk over the AST that refuses what Windows PowerShell
# 5.1 (the powershell.exe the bootstrap starts) does not have, and .NET classes that fail
# when Windows' FIPS policy is on. One line per finding, `<file>:<line>: <rule>: <text>`;
# exit code 1 when there is any.
param([Parameter(ValueFromRemainingArguments = $true)][string[]]$Paths)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

# Cmdlets that Windows PowerShell 5.1 does not have.
$Ps7Cmdlets = @('ConvertFrom-Markdown', 'Get-MarkdownOption', 'Set-MarkdownOption', 'Show-Markdown', 'Get-Error',
  'Test-Json', 'Join-String', 'Get-Uptime', 'Remove-Alias', 'Remove-Service', 'Get-SecureRandom', 'ConvertTo-CliXml',
  'ConvertFrom-CliXml', 'Clear-RecycleBin', 'Get-PSSubsystem', 'Enable-ExperimentalFeature', 'Disable-ExperimentalFeature',
  'Get-ExperimentalFeature', 'Switch-Process')

# Parameters that only PowerShell 6+ cmdlets take (abbreviations count too).
$Ps7Parameters = @{
  'ConvertFrom-Json' = @('AsHashtable', 'Depth', 'NoEnumerate', 'DateKind')
  'ConvertTo-Json'   = @('AsArray', 'EnumsAsStrings', 'EscapeHandling')
  'Get-Content'      = @('AsByteStream')
  'Set-Content'      = @('AsByteStream')
  'Add-Content'      = @('AsByteStream')
  'ForEach-Object'   = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob', 'UseNewRunspace')
  'Sort-Object'      = @('Top', 'Bottom', 'Stable')
  'Select-Object'    = @('SkipIndex')
  'Split-Path'       = @('LeafBase', 'Extension')
  'Join-Path'        = @('AdditionalChildPath')
  'Get-Date'         = @('AsUTC', 'UnixTimeSeconds')
  'Select-String'    = @('Raw', 'NoEmphasis')
  'Get-Random'       = @('Shuffle')
  'Out-String'       = @('NoNewline')
  'Import-Module'    = @('UseWindowsPowerShell', 'SkipEditionCheck')
  'Invoke-WebRequest' = @('SkipCertificateCheck', 'Authentication', 'Resume', 'SslProtocol')
  'Invoke-RestMethod' = @('SkipCertificateCheck', 'Authentication', 'Resume', 'SslProtocol')
  'Start-Process'    = @('Environment')
  'Test-Connection'  = @('TargetName', 'Ping', 'TcpPort', 'Traceroute', 'MtuSize')
}

# Automatic variables that 5.1 lacks (StrictMode makes reading them an error there).
$Ps7Variables = @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR', 'PSStyle', 'PSNativeCommandArgumentPassing')

# Managed hash classes throw under the FIPS policy on .NET Framework; so may ::Create().
$FipsUnsafeTypes = @('SHA1Managed', 'SHA256Managed', 'SHA384Managed', 'SHA512Managed', 'RijndaelManaged', 'MD5CryptoServiceProvider', 'RIPEMD160Managed')
$FipsFactories = @('SHA1', 'SHA256', 'SHA384', 'SHA512', 'MD5', 'HashAlgorithm', 'Rijndael', 'RIPEMD160')

function Get-ShortTypeName([string]$Name) { return ($Name -split '\.')[-1] }

function Find-Ps51Problems($Root) {
  foreach ($ast in $Root.FindAll({ $true }, $true)) {
    $line = $ast.Extent.StartLineNumber
    $type = $ast.GetType().Name
    switch ($type) {
      'TernaryExpressionAst' { [pscustomobject]@{ Line = $line; Rule = 'ternary'; Text = 'the ?: operator is PowerShell 7' } }
      'PipelineChainAst' { [pscustomobject]@{ Line = $line; Rule = 'pipeline-chain'; Text = '&& and || between pipelines are PowerShell 7' } }
      'BinaryExpressionAst' {
        if ($ast.Operator.ToString() -eq 'QuestionQuestion') { [pscustomobject]@{ Line = $line; Rule = 'null-coalescing'; Text = '?? is PowerShell 7' } }
      }
      'AssignmentStatementAst' {
        if ($ast.Operator.ToString() -eq 'QuestionQuestionEquals') { [pscustomobject]@{ Line = $line; Rule = 'null-coalescing'; Text = '??= is PowerShell 7' } }
      }
      { $_ -in 'MemberExpressionAst', 'InvokeMemberExpressionAst', 'IndexExpressionAst' } {
        if ($ast.PSObject.Properties['NullConditional'] -and $ast.NullConditional) { [pscustomobject]@{ Line = $line; Rule = 'null-conditional'; Text = '?. and ?[] are PowerShell 7' } }
        if ($type -eq 'InvokeMemberExpressionAst' -and $ast.Static -and $ast.Expression -is [System.Management.Automation.Language.TypeExpressionAst] -and
          $ast.Member.Extent.Text -eq 'Create' -and (Get-ShortTypeName $ast.Expression.TypeName.FullName) -in $FipsFactories) {
          [pscustomobject]@{ Line = $line; Rule = 'fips'; Text = ('[{0}]::Create() may give a class that FIPS mode refuses; use the CryptoServiceProvider class' -f $ast.Expression.TypeName.FullName) }
        }
      }
      'ScriptBlockAst' {
        if ($ast.PSObject.Properties['CleanBlock'] -and $null -ne $ast.CleanBlock) { [pscustomobject]@{ Line = $ast.CleanBlock.Extent.StartLineNumber; Rule = 'clean-block'; Text = 'clean {} blocks are PowerShell 7.3' } }
      }
      'VariableExpressionAst' {
        if ($ast.VariablePath.UserPath -in $Ps7Variables) { [pscustomobject]@{ Line = $line; Rule = 'ps7-variable'; Text = ('${0} does not exist in Windows PowerShell 5.1' -f $ast.VariablePath.UserPath) } }
      }
      { $_ -in 'TypeExpressionAst', 'TypeConstraintAst' } {
        if ((Get-ShortTypeName $ast.TypeName.FullName) -in $FipsUnsafeTypes) { [pscustomobject]@{ Line = $line; Rule = 'fips'; Text = ('{0} throws when the FIPS policy is on' -f $ast.TypeName.FullName) } }
      }
      'CommandAst' {
        $name = $ast.GetCommandName()
        if ($null -ne $name) {
          if ($name -in $Ps7Cmdlets) { [pscustomobject]@{ Line = $line; Rule = 'ps7-cmdlet'; Text = ('{0} is not in Windows PowerShell 5.1' -f $name) } }
          if ($name -eq 'New-Object') {
            foreach ($e in $ast.CommandElements) {
              if ($e -is [System.Management.Automation.Language.StringConstantExpressionAst] -and (Get-ShortTypeName $e.Value) -in $FipsUnsafeTypes) {
                [pscustomobject]@{ Line = $e.Extent.StartLineNumber; Rule = 'fips'; Text = ('{0} throws when the FIPS policy is on' -f $e.Value) }
              }
            }
          }
          $forbidden = $null
          foreach ($k in $Ps7Parameters.Keys) { if ($k -eq $name) { $forbidden = $Ps7Parameters[$k] } }
          if ($null -ne $forbidden) {
            foreach ($p in @($ast.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] })) {
              foreach ($f in $forbidden) {
                if ($f.StartsWith($p.ParameterName, [System.StringComparison]::OrdinalIgnoreCase)) {
                  [pscustomobject]@{ Line = $p.Extent.StartLineNumber; Rule = 'ps7-parameter'; Text = ('{0} -{1} is PowerShell 6+' -f $name, $f) }
                  break
                }
              }
            }
          }
        }
      }
    }
  }
}

$count = 0
foreach ($path in $Paths) {
  $tokens = $null
  $errors = $null
  $root = [System.Management.Automation.Language.Parser]::ParseFile($path, [ref]$tokens, [ref]$errors)
  foreach ($e in $errors) {
    '{0}:{1}: parse: {2}' -f $path, $e.Extent.StartLineNumber, $e.Message
    $count++
  }
  foreach ($p in @(Find-Ps51Problems $root)) {
    '{0}:{1}: {2}: {3}' -f $path, $p.Line, $p.Rule, $p.Text
    $count++
  }
}
if ($count -gt 0) { exit 1 }
exit 0
