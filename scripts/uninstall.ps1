<#
.SYNOPSIS
Uninstalls orc: removes every task of the home from Task Scheduler (`orc uninstall`), then the
home unless -KeepData, then orc.exe and its PATH entry.
.DESCRIPTION
Run in an elevated PowerShell. The logic lives in `orc uninstall [--keep-data] --yes`; this
script only removes the program folder and the PATH entry. When a registration cannot be
removed, orc keeps the home and this script stops before touching anything else.
.PARAMETER KeepData
Keep the home (tasks, history, secrets) for a later reinstall.
.PARAMETER Destination
Where orc.exe was installed. Default: $env:ProgramFiles\orc.
.PARAMETER OrcHome
The orc home (default: orc's own, %ProgramData%\orc).
.EXAMPLE
.\uninstall.ps1 -KeepData
#>
#Requires -RunAsAdministrator
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
param(
    [switch] $KeepData,
    [string] $Destination = (Join-Path $env:ProgramFiles 'orc'),
    [string] $OrcHome
)
$ErrorActionPreference = 'Stop'

$orc = Join-Path $Destination 'orc.exe'
if (-not (Test-Path $orc)) { throw "orc.exe not found in $Destination" }
$what = if ($KeepData) { 'unschedule every task (keep the data)' } else { 'unschedule every task and DELETE the orc home' }
if (-not $PSCmdlet.ShouldProcess($Destination, $what)) { return }

$orcArgs = @()
if ($OrcHome) { $orcArgs += @('--home', $OrcHome) }
$orcArgs += @('uninstall', '--yes')
if ($KeepData) { $orcArgs += '--keep-data' }
& $orc @orcArgs
if ($LASTEXITCODE -ne 0) { throw "orc uninstall failed (exit code $LASTEXITCODE); nothing else was removed" }

$machinePath = [Environment]::GetEnvironmentVariable('Path', 'Machine')
$entries = $machinePath -split ';' | Where-Object { $_ -and $_ -ne $Destination }
[Environment]::SetEnvironmentVariable('Path', ($entries -join ';'), 'Machine')
# This script may itself live in $Destination: it is already loaded, so it can go.
Remove-Item -Recurse -Force -Path $Destination
Write-Host "orc removed from $Destination"
