# winremedy-script: task 1
# winremedy-uses: scheduler
# One-shot scheduled tasks running as SYSTEM: wusa refuses a WinRM (network) logon
# (KB2773898), a task does not. PowerShell 2.0 only. Parameters ($WinRemedyArgs):
#   action 'start' | 'query' | 'delete'; name; directory; script (start: the whole .cmd
#   text, written by winremedy.remediate.tasks); at (UTC epoch seconds, or $null for
#   now); sd, st (start on Windows 2003 with at: schtasks' /sd and /st).
# Vista and later: Task Scheduler 2.0 (Schedule.Service COM). Windows 2003: Task
# Scheduler 1.0 through schtasks.exe, whose /sd follows the locale of the account it
# runs as: the controller writes /sd and /st (winremedy.remediate.schtasks) from the
# 'schtasks' facts a query with 'at' reports (the account's iDate, as schtasks reads
# it, and 'at' on this host's clock). A task that runs at once gets no /sd at all
# (schtasks takes today) and is started by /run.
# Output: the raw facts (exists, started_at, rc, next_run, boot_time); the controller
# decides the state from them.
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
$Name = [string]$WinRemedyArgs['name']
$Directory = [Environment]::ExpandEnvironmentVariables([string]$WinRemedyArgs['directory'])  # %SystemRoot%\Temp\...
$CmdPath = $Directory + '\' + $Name + '.cmd'
$RunPath = $Directory + '\' + $Name + '.run'
$RcPath = $Directory + '\' + $Name + '.rc'
$Epoch = New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)

function Get-WrSchtasksFacts {
    $international = Get-ItemProperty 'HKCU:\Control Panel\International'
    $local = $Epoch.AddSeconds([double]$WinRemedyArgs['at']).ToLocalTime()
    return @{ date_order = [string]$international.iDate; at_local = $local.ToString("yyyy-MM-dd'T'HH:mm:ss", $Invariant) }
}

function Remove-WrTask($scheduler) {
    Unregister-WrTask $scheduler $Name
    foreach ($path in @($CmdPath, $RunPath, $RcPath)) { if ([IO.File]::Exists($path)) { [IO.File]::Delete($path) } }
}

function Register-WrTask($scheduler, $at) {
    $local = $null
    if ($null -ne $at) { $local = $Epoch.AddSeconds([double]$at).ToLocalTime() }
    if ($null -ne $scheduler) {
        $definition = $scheduler.NewTask(0)
        $definition.RegistrationInfo.Description = 'winremedy one-shot task'
        $definition.Principal.UserId = 'SYSTEM'
        $definition.Principal.LogonType = 5  # TASK_LOGON_SERVICE_ACCOUNT
        $definition.Principal.RunLevel = 1  # TASK_RUNLEVEL_HIGHEST
        $definition.Settings.AllowDemandStart = $true
        $definition.Settings.DisallowStartIfOnBatteries = $false
        $definition.Settings.StopIfGoingOnBatteries = $false
        $definition.Settings.ExecutionTimeLimit = 'PT4H'
        $definition.Settings.MultipleInstances = 2  # TASK_INSTANCES_IGNORE_NEW
        if ($null -ne $local) {
            $trigger = $definition.Triggers.Create(1)  # TASK_TRIGGER_TIME, in the host's local time
            $trigger.StartBoundary = $local.ToString("yyyy-MM-dd'T'HH:mm:ss", $Invariant)
        }
        $action = $definition.Actions.Create(0)
        $action.Path = $env:SystemRoot + '\System32\cmd.exe'
        $action.Arguments = '/c "' + $CmdPath + '"'
        $task = $scheduler.GetFolder('\').RegisterTaskDefinition($Name, $definition, 6, 'SYSTEM', $null, 5)
        if ($null -eq $local) { [void]$task.Run($null) }
        return
    }
    # Task Scheduler 1.0: a once trigger is required; "now" is today at midnight (no /sd) plus /run.
    $create = @('/create', '/tn', $Name, '/tr', $CmdPath, '/sc', 'once', '/ru', 'SYSTEM')
    if ($null -eq $local) {
        Invoke-WrSchtasks ($create + @('/st', '00:00:00'))
        Invoke-WrSchtasks @('/run', '/tn', $Name)
    } else {
        Invoke-WrSchtasks ($create + @('/st', [string]$WinRemedyArgs['st'], '/sd', [string]$WinRemedyArgs['sd']))
    }
}

function Get-WrTaskFacts($scheduler) {
    $task = Get-WrTask $scheduler $Name
    $facts = @{ exists = (Test-WrTask $scheduler $Name); started_at = $null; rc = $null; next_run = $null }
    if ($null -ne $task -and $task.NextRunTime.Year -gt 1900) { $facts['next_run'] = $task.NextRunTime }
    if ([IO.File]::Exists($RunPath)) { $facts['started_at'] = [IO.File]::GetLastWriteTimeUtc($RunPath) }
    if ([IO.File]::Exists($RcPath)) { $facts['rc'] = ([IO.File]::ReadAllText($RcPath)).Trim() }
    $os = Get-WmiObject Win32_OperatingSystem
    $facts['boot_time'] = [Management.ManagementDateTimeConverter]::ToDateTime($os.LastBootUpTime)
    return $facts
}

$Result = @{ script = 'task'; action = $WinRemedyArgs['action'] }
try {
    $scheduler = Get-WrScheduler
    $Result['scheduler'] = 1 + [int]($null -ne $scheduler)
    if ($null -eq $scheduler -and $null -ne $WinRemedyArgs['at']) { $Result['schtasks'] = Get-WrSchtasksFacts }
    if ($WinRemedyArgs['action'] -eq 'start') {
        Remove-WrTask $scheduler
        # The folder exists and is ours (SYSTEM and Administrators only): stage.ps1 made sure just before
        [IO.File]::WriteAllText($CmdPath, [string]$WinRemedyArgs['script'], [Text.Encoding]::ASCII)
        Register-WrTask $scheduler $WinRemedyArgs['at']
    } elseif ($WinRemedyArgs['action'] -eq 'delete') {
        Remove-WrTask $scheduler
    }
    $Result['task'] = Get-WrTaskFacts $scheduler
} catch {
    $Result['error'] = [string]$_
}
Write-WrResult $Result
