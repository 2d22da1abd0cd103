# Orc.psm1 — PowerShell functions over orc's --json commands. Each function runs orc with
# --json and returns objects (ConvertFrom-Json); an error that orc reports (one JSON object
# {"error":{"kind","message"}} on stderr) becomes a terminating error whose FullyQualifiedErrorId
# starts with Orc.<kind> and whose category follows the kind. See docs/guide/powershell.md.

Set-StrictMode -Version 3.0

$script:OrcExe = 'orc'
$script:OrcHome = $null

function Set-OrcDefault {
    <#
    .SYNOPSIS
    Chooses the orc executable and the orc home that the Orc functions use.
    .DESCRIPTION
    By default the functions run `orc` found on PATH with orc's own default home
    (ORC_HOME, else %ProgramData%\orc). Set-OrcDefault points them elsewhere for this session.
    .PARAMETER Path
    Path of orc.exe (or of orc on Unix).
    .PARAMETER OrcHome
    The orc home to pass as --home. An empty string goes back to orc's default.
    .EXAMPLE
    Set-OrcDefault -Path 'C:\Program Files\orc\orc.exe' -OrcHome 'D:\orc'
    #>
    [CmdletBinding()]
    param(
        [string] $Path,
        [AllowEmptyString()] [string] $OrcHome
    )
    if ($PSBoundParameters.ContainsKey('Path')) { $script:OrcExe = $Path }
    if ($PSBoundParameters.ContainsKey('OrcHome')) {
        $script:OrcHome = if ($OrcHome) { $OrcHome } else { $null }
    }
}

function ConvertTo-OrcErrorCategory([string] $Kind) {
    switch ($Kind) {
        'invalid_input' { return [System.Management.Automation.ErrorCategory]::InvalidArgument }
        'usage' { return [System.Management.Automation.ErrorCategory]::InvalidArgument }
        'not_found' { return [System.Management.Automation.ErrorCategory]::ObjectNotFound }
        'scheduler' { return [System.Management.Automation.ErrorCategory]::InvalidOperation }
        'storage' { return [System.Management.Automation.ErrorCategory]::ResourceUnavailable }
        'secrets' { return [System.Management.Automation.ErrorCategory]::SecurityError }
        'io' { return [System.Management.Automation.ErrorCategory]::WriteError }
        default { return [System.Management.Automation.ErrorCategory]::NotSpecified }
    }
}

function Invoke-OrcJson {
    # Runs orc --json ARGS; returns the parsed stdout document (arrays unrolled), or throws
    # the error orc reported on stderr as a terminating error. Not exported.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string[]] $Arguments)
    $all = @('--json')
    if ($script:OrcHome) { $all += @('--home', $script:OrcHome) }
    $all += $Arguments
    # orc's stderr must reach the filter below, not stop the pipeline (Windows PowerShell
    # turns redirected native stderr into errors; PowerShell 7.3+ may throw on exit codes).
    $ErrorActionPreference = 'Continue'
    $PSNativeCommandUseErrorActionPreference = $false
    $previous = [Console]::OutputEncoding
    try {
        # orc writes UTF-8; PowerShell decodes native output with the console's encoding.
        try { [Console]::OutputEncoding = [System.Text.UTF8Encoding]::new($false) } catch { }
        $stdout = [System.Collections.Generic.List[string]]::new()
        $stderr = [System.Collections.Generic.List[string]]::new()
        & $script:OrcExe @all 2>&1 | ForEach-Object {
            if ($_ -is [System.Management.Automation.ErrorRecord]) { $stderr.Add($_.ToString()) }
            else { $stdout.Add([string]$_) }
        }
        $code = $LASTEXITCODE
    }
    finally {
        try { [Console]::OutputEncoding = $previous } catch { }
    }
    foreach ($line in $stderr) {
        $doc = $null
        try { $doc = $line | ConvertFrom-Json -ErrorAction Stop } catch { continue }
        if ($null -ne $doc -and $doc.PSObject.Properties['error']) {
            $kind = [string]$doc.error.kind
            $exception = [System.InvalidOperationException]::new("orc: $($doc.error.message)")
            $exception.Data['OrcKind'] = $kind
            $exception.Data['ExitCode'] = $code
            $record = [System.Management.Automation.ErrorRecord]::new(
                $exception, "Orc.$kind", (ConvertTo-OrcErrorCategory $kind), ($Arguments -join ' '))
            $PSCmdlet.ThrowTerminatingError($record)
        }
    }
    if ($stdout.Count -eq 0) {
        if ($code -ne 0) {
            $message = "orc $($Arguments -join ' ') exited with code $code"
            if ($stderr.Count) { $message += ": $($stderr -join ' ')" }
            $record = [System.Management.Automation.ErrorRecord]::new(
                [System.InvalidOperationException]::new($message), 'Orc.failed',
                [System.Management.Automation.ErrorCategory]::NotSpecified, ($Arguments -join ' '))
            $PSCmdlet.ThrowTerminatingError($record)
        }
        return
    }
    # The parentheses unroll a top-level array into the pipeline (Windows PowerShell 5.1 too).
    ($stdout -join "`n" | ConvertFrom-Json) | ForEach-Object { $_ }
}

function Get-OrcTask {
    <#
    .SYNOPSIS
    Gets orc tasks (orc task list / orc task show).
    .DESCRIPTION
    Without -Name, every task; with -Name, those tasks (an unknown name is a terminating
    error with the id Orc.not_found). Each object has the fields of `orc task show --json`:
    name, command, shell, schedule, enabled, timeout, retries, env, depends_on, last_run,
    next_run, … (docs/reference/json/task.schema.json).
    .PARAMETER Name
    Task names. Accepts pipeline input, also by property name.
    .EXAMPLE
    Get-OrcTask | Where-Object { -not $_.enabled }
    .EXAMPLE
    Get-OrcTask -Name backup | Select-Object name, next_run
    #>
    [CmdletBinding()]
    param(
        [Parameter(ValueFromPipeline, ValueFromPipelineByPropertyName, Position = 0)]
        [string[]] $Name
    )
    process {
        if (-not $Name) { Invoke-OrcJson -Arguments @('task', 'list'); return }
        foreach ($n in $Name) { Invoke-OrcJson -Arguments @('task', 'show', $n) }
    }
}

function Get-OrcStatus {
    <#
    .SYNOPSIS
    One object per task: enabled, schedule, last run, next run, running instances (orc status).
    .EXAMPLE
    Get-OrcStatus | Where-Object { $_.last_run.status -eq 'FAILED' }
    #>
    [CmdletBinding()]
    param()
    Invoke-OrcJson -Arguments @('status')
}

function Get-OrcHistory {
    <#
    .SYNOPSIS
    Past runs, newest first (orc history).
    .PARAMETER Task
    Only this task's runs. Accepts a task object from the pipeline (its name property).
    .PARAMETER Status
    Only runs with this status.
    .PARAMETER Limit
    At most this many runs.
    .EXAMPLE
    Get-OrcHistory -Task backup -Status FAILED -Limit 5
    .EXAMPLE
    Get-OrcTask backup | Get-OrcHistory -Limit 1
    #>
    [CmdletBinding()]
    param(
        [Parameter(ValueFromPipelineByPropertyName)] [Alias('Name')] [string] $Task,
        [ValidateSet('RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'SKIPPED', 'ABANDONED')]
        [string] $Status,
        [ValidateRange(1, [int]::MaxValue)] [int] $Limit
    )
    process {
        $orcArgs = @('history')
        if ($Task) { $orcArgs += @('--task', $Task) }
        if ($Status) { $orcArgs += @('--status', $Status) }
        if ($Limit) { $orcArgs += @('--limit', [string]$Limit) }
        Invoke-OrcJson -Arguments $orcArgs
    }
}

function Invoke-OrcTask {
    <#
    .SYNOPSIS
    Runs a task now (orc execute --task NAME) and returns its run records.
    .DESCRIPTION
    The task runs with its timeout, retries and dependencies as when Task Scheduler starts
    it. A task that fails is not a PowerShell error: look at the status and exit_code of the
    returned run records. An orc error (unknown task, locked vault, …) is a terminating error.
    .PARAMETER Name
    The task. Accepts pipeline input by property name.
    .PARAMETER CheckDeps
    Check the task's dependencies first, as a scheduled run does.
    .EXAMPLE
    Invoke-OrcTask backup | Select-Object status, exit_code, duration_ms
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory, ValueFromPipeline, ValueFromPipelineByPropertyName, Position = 0)]
        [string] $Name,
        [switch] $CheckDeps
    )
    process {
        if (-not $PSCmdlet.ShouldProcess($Name, 'orc execute')) { return }
        $orcArgs = @('execute', '--task', $Name)
        if ($CheckDeps) { $orcArgs += '--check-deps' }
        Invoke-OrcJson -Arguments $orcArgs
    }
}

function Enable-OrcTask {
    <#
    .SYNOPSIS
    Enables a task (orc task enable) and returns it. Run orc schedule to update Task Scheduler.
    .EXAMPLE
    'backup', 'report' | Enable-OrcTask
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory, ValueFromPipeline, ValueFromPipelineByPropertyName, Position = 0)]
        [string] $Name
    )
    process {
        if ($PSCmdlet.ShouldProcess($Name, 'orc task enable')) {
            Invoke-OrcJson -Arguments @('task', 'enable', $Name)
        }
    }
}

function Disable-OrcTask {
    <#
    .SYNOPSIS
    Disables a task (orc task disable) and returns it. Run orc schedule to update Task Scheduler.
    .EXAMPLE
    Get-OrcTask | Where-Object owner -eq 'ops' | Disable-OrcTask -WhatIf
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory, ValueFromPipeline, ValueFromPipelineByPropertyName, Position = 0)]
        [string] $Name
    )
    process {
        if ($PSCmdlet.ShouldProcess($Name, 'orc task disable')) {
            Invoke-OrcJson -Arguments @('task', 'disable', $Name)
        }
    }
}

function Get-OrcDoctor {
    <#
    .SYNOPSIS
    orc's health checks (orc doctor): one object per check with name, status (ok, warn,
    fail), detail and fix.
    .PARAMETER Online
    Also try the configured mail server and webhooks.
    .PARAMETER Fix
    Apply the safe fixes (permissions, history log, re-registration).
    .EXAMPLE
    Get-OrcDoctor | Where-Object status -ne 'ok' | Format-Table name, status, fix
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param([switch] $Online, [switch] $Fix)
    $orcArgs = @('doctor')
    if ($Online) { $orcArgs += '--online' }
    if ($Fix) {
        if (-not $PSCmdlet.ShouldProcess('orc home and registrations', 'orc doctor --fix')) { return }
        $orcArgs += '--fix'
    }
    $report = Invoke-OrcJson -Arguments $orcArgs
    if ($null -ne $report) { $report.checks | ForEach-Object { $_ } }
}

Export-ModuleMember -Function Set-OrcDefault, Get-OrcTask, Get-OrcStatus, Get-OrcHistory,
    Invoke-OrcTask, Enable-OrcTask, Disable-OrcTask, Get-OrcDoctor
