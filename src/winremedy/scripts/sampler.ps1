# winremedy-script: sampler 1
# winremedy-uses: scheduler
# The opt-in on-host sampler: a scheduled task, as SYSTEM, that runs the recorder
# (the collector rendered with an indicators-only query and a 'record' section)
# every few minutes; each run appends one answer to a bounded file that the
# next audit reads and clears. PowerShell 2.0 only. Parameters ($WinRemedyArgs):
#   action 'install' | 'status' | 'remove'; name; directory; recorder (install:
#   the recorder's text); minutes (install: minutes between runs); file (the
#   samples file the recorder appends to).
# Vista and later: Task Scheduler 2.0 (Schedule.Service COM), a time trigger
# repeated indefinitely. Windows 2003: Task Scheduler 1.0, schtasks /sc minute.
# Output: the raw facts (installed, scheduler, samples recorded, last run).
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
$Name = [string]$WinRemedyArgs['name']
$Directory = [Environment]::ExpandEnvironmentVariables([string]$WinRemedyArgs['directory'])  # %SystemRoot%\Temp\...
$RecorderPath = $Directory + '\' + $Name + '.ps1'
$CmdPath = $Directory + '\' + $Name + '.cmd'
$SamplesPath = [Environment]::ExpandEnvironmentVariables([string]$WinRemedyArgs['file'])

function Remove-WrSampler($scheduler) {
    Unregister-WrTask $scheduler $Name
    foreach ($path in @($RecorderPath, $CmdPath, $SamplesPath)) { if ([IO.File]::Exists($path)) { [IO.File]::Delete($path) } }
}

function Register-WrSampler($scheduler, [int]$minutes) {
    if ($null -ne $scheduler) {
        $definition = $scheduler.NewTask(0)
        $definition.RegistrationInfo.Description = 'winremedy on-host leak sampler'
        $definition.Principal.UserId = 'SYSTEM'
        $definition.Principal.LogonType = 5  # TASK_LOGON_SERVICE_ACCOUNT
        $definition.Settings.DisallowStartIfOnBatteries = $false
        $definition.Settings.StopIfGoingOnBatteries = $false
        $definition.Settings.ExecutionTimeLimit = 'PT5M'
        $definition.Settings.MultipleInstances = 2  # TASK_INSTANCES_IGNORE_NEW
        # TASK_TRIGGER_TIME repeated with no end: "If no value is specified for the duration, then the
        # pattern is repeated indefinitely" (Microsoft docs, RepetitionPattern.Duration property).
        $trigger = $definition.Triggers.Create(1)
        $trigger.StartBoundary = (Get-Date).ToString("yyyy-MM-dd'T'HH:mm:ss", $Invariant)
        $trigger.Repetition.Interval = 'PT' + $minutes + 'M'
        $action = $definition.Actions.Create(0)
        $action.Path = $env:SystemRoot + '\System32\cmd.exe'
        $action.Arguments = '/c "' + $CmdPath + '"'
        [void]$scheduler.GetFolder('\').RegisterTaskDefinition($Name, $definition, 6, 'SYSTEM', $null, 5)
        return
    }
    # Task Scheduler 1.0 (Microsoft docs, "Schtasks"): /sc minute /mo N runs every N minutes from now on.
    Invoke-WrSchtasks @('/create', '/tn', $Name, '/tr', $CmdPath, '/sc', 'minute', '/mo', [string]$minutes, '/ru', 'SYSTEM')
}

function Get-WrSamplerFacts($scheduler) {
    $facts = @{ installed = (Test-WrTask $scheduler $Name); samples = 0; last_run = $null }
    $task = Get-WrTask $scheduler $Name
    if ($null -ne $task -and $task.LastRunTime.Year -gt 1900) { $facts['last_run'] = $task.LastRunTime }
    if ([IO.File]::Exists($SamplesPath)) { $facts['samples'] = @([IO.File]::ReadAllLines($SamplesPath)).Count }
    return $facts
}

$Result = @{ script = 'sampler'; action = $WinRemedyArgs['action'] }
try {
    $scheduler = Get-WrScheduler
    $Result['scheduler'] = 1 + [int]($null -ne $scheduler)
    if ($WinRemedyArgs['action'] -eq 'install') {
        Remove-WrSampler $scheduler
        if (-not [IO.Directory]::Exists($Directory)) { [void][IO.Directory]::CreateDirectory($Directory) }
        [IO.File]::WriteAllText($RecorderPath, [string]$WinRemedyArgs['recorder'], [Text.Encoding]::ASCII)
        $line = '@"%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -NonInteractive ' +
            '-ExecutionPolicy Bypass -File "' + $RecorderPath + '"'
        [IO.File]::WriteAllText($CmdPath, $line + "`r`n", [Text.Encoding]::ASCII)
        Register-WrSampler $scheduler ([int]$WinRemedyArgs['minutes'])
    } elseif ($WinRemedyArgs['action'] -eq 'remove') {
        Remove-WrSampler $scheduler
    }
    $Result['sampler'] = Get-WrSamplerFacts $scheduler
} catch {
    $Result['error'] = [string]$_
}
Write-WrResult $Result
