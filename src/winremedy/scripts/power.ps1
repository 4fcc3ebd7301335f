# winremedy-script: power 1
# Host clock, restarts and service restarts; one action per call ($WinRemedyArgs.action):
#   clock   - nothing changes;
#   reboot  - shutdown.exe /r /t <delay> /c <comment> /d p:2:17 /f (planned, OS hotfix);
#   abort   - shutdown.exe /a;
#   service - find a service by name or image path; restart it when 'restart' is true;
#   adapters - the NetConnectionID of each adapter whose IP configuration has a default gateway
#             (Win32_NetworkAdapterConfiguration.DefaultIPGateway -> Win32_NetworkAdapter by Index; XP / 2003 too).
# Every answer carries the boot time (read before any action), the host clock (UTC
# epoch seconds) and its UTC offset. Deciding what the answer means is the caller's job.
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
$Action = [string]$WinRemedyArgs['action']
$Epoch = New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)
$Shutdown = Join-Path ([Environment]::SystemDirectory) 'shutdown.exe'

function Invoke-WrShutdown([string[]]$arguments) {
    $ErrorActionPreference = 'Continue'  # native stderr must not become a terminating error
    $lines = @(& $Shutdown $arguments 2>&1 | ForEach-Object { [string]$_ })
    return @{ rc = $LASTEXITCODE; output = [string]::Join(' ', [string[]]$lines) }
}

function Find-WrService([string]$name, [string]$image) {
    foreach ($svc in @(Get-WmiObject Win32_Service)) {
        if ($name -and $svc.Name -eq $name) { return $svc }
        if ($image -and $svc.PathName -and $svc.PathName.IndexOf($image, [StringComparison]::OrdinalIgnoreCase) -ge 0) {
            return $svc
        }
    }
    return $null
}

function Wait-WrServiceState($svc, [string]$state, [double]$timeout) {
    $deadline = [DateTime]::UtcNow.AddSeconds($timeout)
    $svc.Get()
    while ($svc.State -ne $state -and [DateTime]::UtcNow -lt $deadline) {
        Start-Sleep -Milliseconds 500
        $svc.Get()
    }
    return [string]$svc.State
}

function Get-WrService([string]$name, [string]$image, [bool]$restart, [double]$timeout) {
    $svc = Find-WrService $name $image
    if ($null -eq $svc) { return $null }
    $found = @{ name = $svc.Name; state = [string]$svc.State; pid = $svc.ProcessId; path = $svc.PathName }
    if (-not $restart) { return $found }
    if ($svc.State -ne 'Stopped') {
        $found['stop'] = $svc.StopService().ReturnValue
        if ($found['stop'] -ne 0) { return $found }  # refused (e.g. 3: dependents running): nothing to wait for
        $found['stopped'] = Wait-WrServiceState $svc 'Stopped' $timeout
    }
    $found['start'] = $svc.StartService().ReturnValue
    if ($found['start'] -eq 0) { $found['state'] = Wait-WrServiceState $svc 'Running' $timeout }
    $found['new_pid'] = $svc.ProcessId
    return $found
}

function Get-WrDefaultRouteAdapters {
    foreach ($config in @(Get-WmiObject Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = TRUE')) {
        if ($config.DefaultIPGateway) {
            $nic = Get-WmiObject Win32_NetworkAdapter -Filter ('Index = ' + $config.Index)
            if ($nic -and $nic.NetConnectionID) { [string]$nic.NetConnectionID }
        }
    }
}

$Result = @{ script = 'power'; action = $Action }
try {
    $os = Get-WmiObject Win32_OperatingSystem
    $Result['boot_time'] = [Management.ManagementDateTimeConverter]::ToDateTime($os.LastBootUpTime)
    if ($Action -eq 'reboot') {
        $arguments = @('/r', '/t', [string][int]$WinRemedyArgs['delay'], '/c', [string]$WinRemedyArgs['comment'], '/d', 'p:2:17', '/f')
        $Result['shutdown'] = Invoke-WrShutdown $arguments
    } elseif ($Action -eq 'abort') {
        $Result['shutdown'] = Invoke-WrShutdown @('/a')
    } elseif ($Action -eq 'service') {
        $Result['service'] = Get-WrService ([string]$WinRemedyArgs['name']) ([string]$WinRemedyArgs['image']) ([bool]$WinRemedyArgs['restart']) ([double]$WinRemedyArgs['timeout'])
    } elseif ($Action -eq 'adapters') {
        $Result['adapters'] = @(Get-WrDefaultRouteAdapters)
    } elseif ($Action -ne 'clock') {
        $Result['error'] = 'unknown action ' + $Action
    }
} catch {
    $Result['error'] = [string]$_
}
$Result['now'] = ([DateTime]::UtcNow - $Epoch).TotalSeconds
$Result['utc_offset'] = [TimeZone]::CurrentTimeZone.GetUtcOffset([DateTime]::Now).TotalMinutes
Write-WrResult $Result
