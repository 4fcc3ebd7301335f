# winremedy-script: task 1
# One-shot scheduled tasks running as SYSTEM: wusa refuses a WinRM (network) logon
# (KB2773898), a task does not. PowerShell 2.0 only. Parameters ($WinRemedyArgs):
#   action 'start' | 'query' | 'delete'; name; directory; script (start: the whole .cmd
#   text, written by winremedy.remediate.tasks); at (start: UTC epoch seconds, or $null
#   for now).
# Vista and later: Task Scheduler 2.0 (Schedule.Service COM). Windows 2003: Task
# Scheduler 1.0 through schtasks.exe, whose /sd takes the date "in the format of the
# locale selected in Regional and Language Options" (schtasks create, Microsoft Learn):
# the running account's HKCU\Control Panel\International iDate (0 M/D/Y, 1 D/M/Y,
# 2 Y/M/D; LOCALE_IDATE) and sDate separator, read here as schtasks reads them; a task
# that runs at once gets no /sd at all (schtasks takes today) and is started by /run.
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

function Get-WrScheduler {
    try {
        $service = New-Object -ComObject Schedule.Service
        $service.Connect()
        return $service
    } catch { return $null }
}

function Get-WrTask($scheduler) {
    if ($null -eq $scheduler) { return $null }
    try { return $scheduler.GetFolder('\').GetTask($Name) } catch { return $null }
}

function Test-WrTask1 {
    # Task Scheduler 1.0 keeps each task as %SystemRoot%\Tasks\<name>.job.
    return [IO.File]::Exists($env:SystemRoot + '\Tasks\' + $Name + '.job')
}

function Invoke-WrSchtasks([string[]]$arguments) {
    $ErrorActionPreference = 'Continue'  # PowerShell 2.0 turns a native command's stderr into a terminating error under Stop
    $output = & schtasks.exe $arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw ('schtasks ' + $arguments[0] + ' exited ' + $LASTEXITCODE + ': ' + ($output -join ' ')) }
}

function Format-WrSchtasksDate([datetime]$t) {
    $international = Get-ItemProperty 'HKCU:\Control Panel\International'
    $y = $t.ToString('yyyy', $Invariant); $m = $t.ToString('MM', $Invariant); $d = $t.ToString('dd', $Invariant)
    $order = @{ '0' = @($m, $d, $y); '1' = @($d, $m, $y); '2' = @($y, $m, $d) }[[string]$international.iDate]
    if ($null -eq $order) { throw ('HKCU\Control Panel\International iDate is ' + $international.iDate + ', not 0, 1 or 2') }
    return [string]::Join([string]$international.sDate, [string[]]$order)
}

function Remove-WrTask($scheduler) {
    if ($null -ne (Get-WrTask $scheduler)) { $scheduler.GetFolder('\').DeleteTask($Name, 0) }
    elseif ($null -eq $scheduler -and (Test-WrTask1)) { Invoke-WrSchtasks @('/delete', '/tn', $Name, '/f') }
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
        Invoke-WrSchtasks ($create + @('/st', $local.ToString('HH:mm:ss', $Invariant), '/sd', (Format-WrSchtasksDate $local)))
    }
}

function Get-WrTaskFacts($scheduler) {
    $task = Get-WrTask $scheduler
    $facts = @{ exists = ($null -ne $task) -or ($null -eq $scheduler -and (Test-WrTask1)); started_at = $null; rc = $null; next_run = $null }
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
    $Result['scheduler'] = 1
    if ($null -ne $scheduler) { $Result['scheduler'] = 2 }
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
