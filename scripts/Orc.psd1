@{
    RootModule        = 'Orc.psm1'
    ModuleVersion     = '0.1.0'
    GUID              = '5b0c7d1e-3f55-4f0e-9d0b-6a3e1c2f9a41'
    Author            = 'orc'
    Description       = 'PowerShell functions over the orc job orchestrator''s --json commands.'
    PowerShellVersion = '5.1'
    FunctionsToExport = @('Set-OrcDefault', 'Get-OrcTask', 'Get-OrcStatus', 'Get-OrcHistory',
        'Invoke-OrcTask', 'Enable-OrcTask', 'Disable-OrcTask', 'Get-OrcDoctor')
    CmdletsToExport   = @()
    VariablesToExport = @()
    AliasesToExport   = @()
}
