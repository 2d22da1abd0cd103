# Pester 5 tests of scripts/Orc.psm1 against a real orc binary in a temporary home.
#   Invoke-Pester -Container (New-PesterContainer -Path scripts/tests/Orc.Tests.ps1 -Data @{ OrcExe = 'target\debug\orc.exe' })
# Without OrcExe, target/debug/orc(.exe) of this checkout is used. The tests never schedule
# anything (no Task Scheduler / crontab changes).
param([string] $OrcExe)

BeforeAll {
    $repo = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    if (-not $OrcExe) {
        $name = if ($IsWindows -or $env:OS -eq 'Windows_NT') { 'orc.exe' } else { 'orc' }
        $OrcExe = Join-Path $repo (Join-Path 'target' (Join-Path 'debug' $name))
    }
    $script:Orc = (Resolve-Path $OrcExe).Path
    Import-Module (Join-Path $repo 'scripts/Orc.psd1') -Force
    $script:OrcTestHome = Join-Path $TestDrive 'home'
    # The vault key of this home goes to the test drive too, not to the user's profile.
    $env:ORC_KEY_FILE = Join-Path $TestDrive 'vault.key'
    Set-OrcDefault -Path $script:Orc -OrcHome $script:OrcTestHome
    $onWindows = $IsWindows -or $env:OS -eq 'Windows_NT'
    $shell = if ($onWindows) { 'cmd' } else { 'sh' }
    & $script:Orc --home $script:OrcTestHome task add hello --command 'echo hello' `
        --schedule '0 3 * * *' --shell $shell --description 'says hello' | Out-Null
    & $script:Orc --home $script:OrcTestHome task add fails --command 'exit 3' `
        --schedule '*/5 * * * *' --shell $shell | Out-Null
}

AfterAll {
    Remove-Item Env:ORC_KEY_FILE -ErrorAction SilentlyContinue
    Remove-Module Orc -ErrorAction SilentlyContinue
}

Describe 'Get-OrcTask' {
    It 'lists every task as objects' {
        $tasks = @(Get-OrcTask)
        $tasks.Count | Should -Be 2
        ($tasks.name | Sort-Object) -join ',' | Should -Be 'fails,hello'
        ($tasks | Where-Object name -eq 'hello').description | Should -Be 'says hello'
        ($tasks | Where-Object name -eq 'hello').schedule | Should -Be '0 3 * * *'
    }
    It 'shows named tasks from the pipeline' {
        $t = 'hello' | Get-OrcTask
        $t.name | Should -Be 'hello'
        $t.enabled | Should -BeTrue
    }
    It 'turns an unknown task into a terminating error with the kind as its id' {
        $err = $null
        try { Get-OrcTask -Name nope; throw 'no error' } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'Orc.not_found*'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.Exception.Message | Should -Be 'orc: no such task: "nope"'
        $err.Exception.Data['ExitCode'] | Should -Be 3
    }
    It 'turns invalid input into InvalidArgument' {
        { Get-OrcTask -Name 'bad name!' } | Should -Throw -ErrorId 'Orc.invalid_input*'
    }
}

Describe 'Disable-OrcTask and Enable-OrcTask' {
    It 'disables and enables, returning the task' {
        (Disable-OrcTask -Name hello).enabled | Should -BeFalse
        (Get-OrcTask hello).enabled | Should -BeFalse
        (Get-OrcTask hello | Enable-OrcTask).enabled | Should -BeTrue
    }
    It 'changes nothing with -WhatIf' {
        Disable-OrcTask -Name hello -WhatIf
        (Get-OrcTask hello).enabled | Should -BeTrue
    }
}

Describe 'Invoke-OrcTask, Get-OrcHistory and Get-OrcStatus' {
    It 'runs a task and returns its run record' {
        $run = @(Invoke-OrcTask -Name hello)
        $run.Count | Should -Be 1
        $run[0].status | Should -Be 'SUCCESS'
        $run[0].exit_code | Should -Be 0
        $run[0].stdout_tail.Trim() | Should -Be 'hello'
    }
    It 'reports a failing task as data, not as an error' {
        $run = @(Invoke-OrcTask -Name fails)
        $run[-1].status | Should -Be 'FAILED'
        $run[-1].exit_code | Should -Be 3
    }
    It 'filters history by task, status and limit' {
        @(Get-OrcHistory).Count | Should -Be 2
        $failed = @(Get-OrcHistory -Task fails -Status FAILED -Limit 1)
        $failed.Count | Should -Be 1
        $failed[0].task | Should -Be 'fails'
        @(Get-OrcTask hello | Get-OrcHistory).task | Should -Be 'hello'
    }
    It 'shows one status row per task with the last run' {
        $rows = @(Get-OrcStatus)
        $rows.Count | Should -Be 2
        ($rows | Where-Object name -eq 'fails').last_run.status | Should -Be 'FAILED'
    }
}

Describe 'Get-OrcDoctor' {
    It 'returns the checks as objects' {
        & $script:Orc doctor --help *> $null
        if ($LASTEXITCODE -ne 0) {
            Set-ItResult -Skipped -Because 'this orc has no doctor command yet'
            return
        }
        $checks = @(Get-OrcDoctor)
        $checks.Count | Should -BeGreaterThan 0
        $checks[0].PSObject.Properties.Name | Should -Contain 'status'
        $checks.status | ForEach-Object { $_ | Should -BeIn @('ok', 'warn', 'fail') }
    }
}
