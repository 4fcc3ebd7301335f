# winremedy-include: scheduler
# Included by winremedy.scripts.render in the scripts that name it (task, sampler): the
# one way they reach the Task Scheduler - 2.0 through Schedule.Service COM on Vista and
# later, 1.0 through schtasks.exe on Windows 2003.
function Get-WrScheduler {
    # Task Scheduler 2.0 (Schedule.Service COM, Vista and later); $null on Windows 2003 (Task Scheduler 1.0).
    try {
        $service = New-Object -ComObject Schedule.Service
        $service.Connect()
        return $service
    } catch { return $null }
}

function Get-WrTask($scheduler, [string]$name) {
    if ($null -eq $scheduler) { return $null }
    try { return $scheduler.GetFolder('\').GetTask($name) } catch { return $null }
}

function Test-WrTask($scheduler, [string]$name) {
    if ($null -ne $scheduler) { return $null -ne (Get-WrTask $scheduler $name) }
    return [IO.File]::Exists($env:SystemRoot + '\Tasks\' + $name + '.job')  # Task Scheduler 1.0 keeps <name>.job
}

function Invoke-WrSchtasks([string[]]$arguments) {
    $ErrorActionPreference = 'Continue'  # PowerShell 2.0 turns a native command's stderr into a terminating error under Stop
    $output = & schtasks.exe $arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw ('schtasks ' + $arguments[0] + ' exited ' + $LASTEXITCODE + ': ' + ($output -join ' ')) }
}

function Unregister-WrTask($scheduler, [string]$name) {
    if (-not (Test-WrTask $scheduler $name)) { return }
    if ($null -ne $scheduler) { $scheduler.GetFolder('\').DeleteTask($name, 0) }
    else { Invoke-WrSchtasks @('/delete', '/tn', $name, '/f') }
}
