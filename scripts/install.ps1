<#
.SYNOPSIS
Installs orc from a release zip: orc.exe into Program Files, on the machine PATH, the home
created and secured by orc itself, then `orc doctor`.
.DESCRIPTION
Run from the unpacked release folder in an elevated PowerShell. The logic lives in orc
(`orc home init`, `orc doctor`); this script only copies files and edits PATH. Running it again
upgrades orc.exe in place and re-applies the home's permissions (the data stays).
.PARAMETER Destination
Where orc.exe goes. Default: $env:ProgramFiles\orc.
.PARAMETER OrcHome
The orc home (default: orc's own, %ProgramData%\orc).
.PARAMETER SkipDoctor
Do not run `orc doctor` at the end.
.EXAMPLE
powershell -ExecutionPolicy Bypass -File .\install.ps1
#>
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [string] $Destination = (Join-Path $env:ProgramFiles 'orc'),
    [string] $OrcHome,
    [switch] $SkipDoctor
)
$ErrorActionPreference = 'Stop'

$source = Join-Path $PSScriptRoot 'orc.exe'
if (-not (Test-Path $source)) { throw "orc.exe not found next to install.ps1 ($source)" }
New-Item -ItemType Directory -Force -Path $Destination | Out-Null
foreach ($file in 'orc.exe', 'orcw.exe', 'Orc.psm1', 'Orc.psd1', 'uninstall.ps1') {
    $from = Join-Path $PSScriptRoot $file
    if (Test-Path $from) { Copy-Item -Force -Path $from -Destination $Destination }
}
$orc = Join-Path $Destination 'orc.exe'

# The machine PATH (registry), once; this session's PATH too.
$machinePath = [Environment]::GetEnvironmentVariable('Path', 'Machine')
$entries = $machinePath -split ';' | Where-Object { $_ }
if ($entries -notcontains $Destination) {
    [Environment]::SetEnvironmentVariable('Path', (($entries + $Destination) -join ';'), 'Machine')
    Write-Host "added $Destination to the machine PATH"
}
if (($env:Path -split ';') -notcontains $Destination) { $env:Path = "$env:Path;$Destination" }

$homeArgs = @()
if ($OrcHome) { $homeArgs = @('--home', $OrcHome) }
& $orc @homeArgs home init
if ($LASTEXITCODE -ne 0) { throw "orc home init failed (exit code $LASTEXITCODE)" }
& $orc --version

if (-not $SkipDoctor) {
    & $orc @homeArgs doctor
    if ($LASTEXITCODE -ne 0) {
        Write-Warning "orc doctor reported failures (exit code $LASTEXITCODE): see the fixes above"
    }
}
Write-Host "orc is installed in $Destination. Import-Module '$Destination\Orc.psd1' for the PowerShell functions."
