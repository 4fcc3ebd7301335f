# winremedy-script: probe 1
# winremedy-uses: hostread
# Readiness probe: reads what decides whether this host can be audited and remediated,
# and prints it raw; every judgement is made by the controller (winremedy.probe).
# PowerShell 2.0 / .NET 2.0 only, read-only. What to read arrives as data in
# $WinRemedyArgs: registry values and keys, WSMan: settings, files, services, a drive.
# Output: one result line (Write-WrResult, from common.ps1).
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
$Query = $WinRemedyArgs
$Errors = New-Object System.Collections.ArrayList

function Get-WrDefaultRoute {
    # The adapter of the lowest-metric 0.0.0.0/0 route, by its NetConnectionID (the name netsh uses).
    $best = $null
    foreach ($route in @(Get-WmiObject Win32_IP4RouteTable -Filter "Destination='0.0.0.0' AND Mask='0.0.0.0'")) {
        if ($null -eq $best -or $route.Metric1 -lt $best.Metric1) { $best = $route }
    }
    $names = New-Object System.Collections.ArrayList
    $default = $null
    foreach ($nic in @(Get-WmiObject Win32_NetworkAdapter -Filter 'NetConnectionID IS NOT NULL')) {
        [void]$names.Add($nic.NetConnectionID)
        if ($null -ne $best -and $nic.InterfaceIndex -eq $best.InterfaceIndex) { $default = $nic.NetConnectionID }
    }
    return @{ default_route = $default; names = $names }
}

$Result = @{ script = 'probe'; errors = $Errors }
$Result['powershell_version'] = $PSVersionTable.PSVersion.ToString()
$Result['clr_version'] = $PSVersionTable.CLRVersion.ToString()
$Result['system_root'] = $env:SystemRoot
$Result['now'] = [DateTime]::UtcNow

$wmi = @{}
try {
    $os = Get-WmiObject Win32_OperatingSystem
    $wmi = @{ caption = $os.Caption; version = $os.Version; sp = $os.ServicePackMajorVersion }
} catch { Add-WrError 'wmi' $_ }
$Result['wmi'] = $wmi

$values = @{}
foreach ($path in @($Query['registry_values'])) {
    try { $values[[string]$path] = Get-WrRegistryValue $path } catch { Add-WrError ('registry ' + $path) $_ }
}
$Result['registry_values'] = $values

$subkeys = @{}
foreach ($path in @($Query['registry_subkeys'])) {
    try { $subkeys[[string]$path] = Get-WrSubKeys $path } catch { Add-WrError ('registry key ' + $path) $_ }
}
$Result['registry_subkeys'] = $subkeys

$files = @{}
foreach ($path in @($Query['files'])) {
    try { $files[[string]$path] = Get-WrFileVersion $path } catch { Add-WrError ('file ' + $path) $_ }
}
$Result['files'] = $files

$wsman = @{}
foreach ($path in @($Query['wsman'])) {
    try { $wsman[[string]$path] = [string](Get-Item ('WSMan:\localhost\' + $path)).Value } catch { Add-WrError ('wsman ' + $path) $_ }
}
$Result['wsman'] = $wsman

$services = @{}
foreach ($name in @($Query['services'])) {
    try {
        $svc = Get-WmiObject Win32_Service -Filter ("Name='" + $name + "'")
        if ($null -ne $svc) { $services[[string]$name] = @{ state = $svc.State; start_mode = $svc.StartMode } }
    } catch { Add-WrError ('service ' + $name) $_ }
}
$Result['services'] = $services

$scheduler = '1.0'
try { [void](New-Object -ComObject Schedule.Service); $scheduler = '2.0' } catch { }
$Result['task_scheduler'] = $scheduler

try {
    $drive = [IO.Path]::GetPathRoot([Environment]::ExpandEnvironmentVariables([string]$Query['staging'])).TrimEnd('\')
    $disk = Get-WmiObject Win32_LogicalDisk -Filter ("DeviceID='" + $drive + "'")
    $Result['staging_drive'] = @{ drive = $drive; free = [double]$disk.FreeSpace }
} catch { Add-WrError 'staging drive' $_ }

try { $Result['adapters'] = Get-WrDefaultRoute } catch { Add-WrError 'adapters' $_ }
Write-WrResult $Result
