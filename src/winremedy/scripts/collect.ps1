# winremedy-script: collect 1
# winremedy-uses: hostread
# Answers one audit query in one call: OS, files, registry, CBS packages, QFE,
# services, processes, and K samples of the leak indicators and of the largest
# nonpaged pool tags (the poolmon view, to name a leak's driver); each section only
# when the query names it (a later leak sample asks for little). With 'record'
# it is the on-host sampler: the answer is appended to a bounded file instead of
# printed; 'recorded' reads and clears that file. PowerShell 2.0 /
# .NET 2.0 only. The query arrives as data in $WinRemedyArgs (a hashtable
# literal written by winremedy.psdata); nothing in it is ever run as code.
# Output: one result line (Write-WrResult, from common.ps1).
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
$Query = $WinRemedyArgs
$Errors = New-Object System.Collections.ArrayList

function Get-WrOs {
    $os = Get-WmiObject Win32_OperatingSystem
    $arch = $env:PROCESSOR_ARCHITEW6432
    if (-not $arch) { $arch = $env:PROCESSOR_ARCHITECTURE }
    $boot = $null
    try { $boot = [Management.ManagementDateTimeConverter]::ToDateTime($os.LastBootUpTime) } catch { Add-WrError 'boot_time' $_ }
    return @{
        caption = $os.Caption; version = $os.Version; csd_version = $os.CSDVersion
        sp = $os.ServicePackMajorVersion; product_type = $os.ProductType; processor_architecture = $arch
        boot_time = $boot
    }
}

function Get-WrCbsPackages($prefixes) {
    $found = New-Object System.Collections.ArrayList
    $root = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey('SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages')
    if ($null -eq $root) { return ,$found }
    try {
        foreach ($name in $root.GetSubKeyNames()) {
            foreach ($prefix in $prefixes) {
                if ($name.StartsWith([string]$prefix, [StringComparison]::OrdinalIgnoreCase)) {
                    $key = $root.OpenSubKey($name)
                    [void]$found.Add(@{ package = $name; state = $key.GetValue('CurrentState') })
                    $key.Close()
                    break
                }
            }
        }
    } finally { $root.Close() }
    return ,$found  # the comma keeps PowerShell from unrolling an empty or one-item list
}

function Get-WrQfe {
    $rows = New-Object System.Collections.ArrayList
    foreach ($q in @(Get-WmiObject Win32_QuickFixEngineering)) {
        [void]$rows.Add(@{
            id = $q.GetPropertyValue('HotFixID'); sp_in_effect = $q.GetPropertyValue('ServicePackInEffect')
            installed_on = $q.GetPropertyValue('InstalledOn'); description = $q.GetPropertyValue('Description')
        })
    }
    return ,$rows
}

function Get-WrServices($names, $imagePatterns) {
    $found = @{}
    foreach ($svc in @(Get-WmiObject Win32_Service)) {
        $match = $names -contains $svc.Name
        foreach ($pattern in $imagePatterns) {
            if ($pattern -and $svc.PathName -and $svc.PathName.IndexOf([string]$pattern, [StringComparison]::OrdinalIgnoreCase) -ge 0) { $match = $true }
        }
        if ($match) { $found[$svc.Name] = @{ pid = $svc.ProcessId; state = $svc.State; path = $svc.PathName } }
    }
    return $found
}

function Get-WrProcessMetrics($process) {
    return @{ pid = $process.Id; private_bytes = $process.PrivateMemorySize64; working_set = $process.WorkingSet64; handles = $process.HandleCount }
}

function Get-WrProcesses($names) {
    $found = @{}
    foreach ($name in $names) {
        $base = [IO.Path]::GetFileNameWithoutExtension([string]$name)
        $list = New-Object System.Collections.ArrayList
        foreach ($p in [Diagnostics.Process]::GetProcessesByName($base)) { [void]$list.Add((Get-WrProcessMetrics $p)) }
        $found[[string]$name] = $list
    }
    return $found
}

$PoolTagSource = @'
using System;
using System.Runtime.InteropServices;
namespace WinRemedy {
    public static class PoolTags {
        [DllImport("ntdll.dll")]
        static extern int NtQuerySystemInformation(int infoClass, IntPtr buffer, int length, out int needed);
        // SystemPoolTagInformation (22): ULONG Count, then SYSTEM_POOLTAG entries from offset IntPtr.Size.
        // Entry: x86 28 bytes, NonPagedAllocs/Frees/Used at 0x10/0x14/0x18; x64 40 bytes, at 0x18/0x1C/0x20.
        // Each row: tag, nonpaged bytes, outstanding nonpaged allocations (allocs - frees).
        public static object[] Table() {
            int size = 0x40000;
            for (int attempt = 0; attempt < 8; attempt++) {
                IntPtr buffer = Marshal.AllocHGlobal(size);
                try {
                    int needed;
                    int status = NtQuerySystemInformation(22, buffer, size, out needed);
                    if (status == -1073741820) { size = Math.Max(size * 2, needed + 0x1000); continue; }
                    if (status != 0) { throw new InvalidOperationException("NtQuerySystemInformation status 0x" + status.ToString("X8")); }
                    int count = Marshal.ReadInt32(buffer);
                    bool wide = IntPtr.Size == 8;
                    int entry = wide ? 40 : 28;
                    int allocs = wide ? 0x18 : 0x10;
                    long first = buffer.ToInt64() + IntPtr.Size;
                    byte[] name = new byte[4];
                    object[] rows = new object[count];
                    for (int i = 0; i < count; i++) {
                        IntPtr item = new IntPtr(first + (long)i * entry);
                        Marshal.Copy(item, name, 0, 4);
                        long used = wide ? Marshal.ReadInt64(item, allocs + 8) : (long)(uint)Marshal.ReadInt32(item, allocs + 8);
                        long open = (long)(uint)Marshal.ReadInt32(item, allocs) - (long)(uint)Marshal.ReadInt32(item, allocs + 4);
                        rows[i] = new object[] { System.Text.Encoding.ASCII.GetString(name), used, open };
                    }
                    return rows;
                } finally { Marshal.FreeHGlobal(buffer); }
            }
            throw new InvalidOperationException("pool tag buffer kept growing");
        }
        public static long NonPagedBytes(string tag) {
            foreach (object[] row in Table()) { if ((string)row[0] == tag) { return (long)row[1]; } }
            return 0;
        }
        // The top tags by nonpaged bytes.
        public static object[] Top(int count) {
            object[] rows = Table();
            long[] keys = new long[rows.Length];
            for (int i = 0; i < rows.Length; i++) { keys[i] = -(long)((object[])rows[i])[1]; }
            Array.Sort(keys, rows);
            object[] top = new object[Math.Min(count, rows.Length)];
            Array.Copy(rows, top, top.Length);
            return top;
        }
    }
}
'@

function Get-WrIndicator($indicator, $services) {
    $kind = [string]$indicator['kind']
    $target = [string]$indicator['target']
    $metric = [string]$indicator['metric']
    if ($kind -eq 'counter') {
        $memory = Get-WmiObject Win32_PerfRawData_PerfOS_Memory
        return [double]$memory.PoolNonpagedBytes
    }
    if ($kind -eq 'pool_tag') { return [double][WinRemedy.PoolTags]::NonPagedBytes($target) }
    $processes = @()
    if ($kind -eq 'service_process') {
        if (-not $services.ContainsKey($target) -or -not $services[$target]['pid']) { return $null }
        $processes = @([Diagnostics.Process]::GetProcessById([int]$services[$target]['pid']))
    } else {
        $processes = @([Diagnostics.Process]::GetProcessesByName([IO.Path]::GetFileNameWithoutExtension($target)))
    }
    if ($processes.Count -eq 0) { return $null }
    $total = 0.0
    foreach ($p in $processes) { $total += [double](Get-WrProcessMetrics $p)[$metric] }
    return $total
}

function Get-WrSamples($indicators, $count, $interval, $services, $poolTop) {
    $epoch = New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)
    $series = @{}
    $pool = New-Object System.Collections.ArrayList
    foreach ($indicator in $indicators) { $series[[string]$indicator['id']] = New-Object System.Collections.ArrayList }
    for ($i = 0; $i -lt $count; $i++) {
        if ($i -gt 0) { Start-Sleep -Milliseconds ([int]($interval * 1000)) }
        $t = ([DateTime]::UtcNow - $epoch).TotalSeconds
        foreach ($indicator in $indicators) {
            $id = [string]$indicator['id']
            try {
                $value = Get-WrIndicator $indicator $services
                if ($null -ne $value) { [void]$series[$id].Add(@($t, $value)) }
            } catch { Add-WrError ('indicator ' + $id) $_ }
        }
        if ($poolTop -gt 0) {
            try { [void]$pool.Add(@($t, [WinRemedy.PoolTags]::Top($poolTop))) } catch { Add-WrError 'pool_tags' $_ }
        }
    }
    return @{ series = $series; pool = $pool }
}

function Add-WrRecord([string]$path, [int]$keep, [string]$line) {
    # The on-host sampler's file (under %SystemRoot%): one answer per line, the newest $keep lines only.
    $path = [Environment]::ExpandEnvironmentVariables($path)
    $lines = New-Object System.Collections.ArrayList
    if ([IO.File]::Exists($path)) { foreach ($old in [IO.File]::ReadAllLines($path)) { [void]$lines.Add($old) } }
    [void]$lines.Add($line)
    while ($lines.Count -gt $keep) { $lines.RemoveAt(0) }
    [IO.File]::WriteAllLines($path, [string[]]$lines.ToArray(), [Text.Encoding]::ASCII)
}

function Read-WrRecorded([string]$path) {
    # What the on-host sampler recorded since the last audit; read once, then cleared.
    $path = [Environment]::ExpandEnvironmentVariables($path)
    if (-not [IO.File]::Exists($path)) { return ,@() }
    $lines = [IO.File]::ReadAllLines($path)
    [IO.File]::Delete($path)
    return ,$lines
}

$Result = @{ script = 'collect'; errors = $Errors }
$Result['powershell_version'] = $PSVersionTable.PSVersion.ToString()
$Result['clr_version'] = $PSVersionTable.CLRVersion.ToString()
if ($Query['os']) {
    try { $Result['os'] = Get-WrOs } catch { Add-WrError 'os' $_ }
}

if ($Query.ContainsKey('files')) {
    $files = @{}
    foreach ($path in @($Query['files'])) {
        try { $files[[string]$path] = Get-WrFileVersion $path } catch { Add-WrError ('file ' + $path) $_ }
    }
    $Result['files'] = $files
}

if ($Query.ContainsKey('registry_values')) {
    $values = @{}
    foreach ($path in @($Query['registry_values'])) {
        try { $values[[string]$path] = Get-WrRegistryValue $path } catch { Add-WrError ('registry ' + $path) $_ }
    }
    $Result['registry_values'] = $values
}

if ($Query.ContainsKey('registry_keys')) {
    $keys = @{}
    foreach ($path in @($Query['registry_keys'])) {
        try { $keys[[string]$path] = Test-WrRegistryKey $path } catch { Add-WrError ('registry key ' + $path) $_ }
    }
    $Result['registry_keys'] = $keys
}

if ($Query.ContainsKey('cbs_prefixes')) {
    try { $Result['cbs'] = Get-WrCbsPackages @($Query['cbs_prefixes']) } catch { Add-WrError 'cbs' $_ }
}
if ($Query['qfe']) {
    try { $Result['qfe'] = Get-WrQfe } catch { Add-WrError 'qfe' $_ }
}
$services = @{}
if ($Query.ContainsKey('services')) {
    try { $services = Get-WrServices @($Query['services']) @($Query['service_images']) } catch { Add-WrError 'services' $_ }
    $Result['services'] = $services
}
if ($Query.ContainsKey('processes')) {
    try { $Result['processes'] = Get-WrProcesses @($Query['processes']) } catch { Add-WrError 'processes' $_ }
}

$indicators = @()
if ($Query.ContainsKey('indicators')) { $indicators = @($Query['indicators']) }
$poolTop = [int]$Query['pool_table']
$needsPoolTags = $poolTop -gt 0
foreach ($indicator in $indicators) { if ($indicator['kind'] -eq 'pool_tag') { $needsPoolTags = $true } }
if ($needsPoolTags) {
    try { Add-Type -TypeDefinition $PoolTagSource -Language CSharp } catch { Add-WrError 'pool_tags' $_ }
}
if ($indicators.Count -gt 0) {
    $sampled = Get-WrSamples $indicators ([int]$Query['samples']) ([double]$Query['interval']) $services $poolTop
    $Result['samples'] = $sampled['series']
    $Result['pool_tags'] = $sampled['pool']
}
if ($Query.ContainsKey('recorded')) {
    try { $Result['recorded'] = Read-WrRecorded ([string]$Query['recorded']) } catch { Add-WrError 'recorded' $_ }
}
$Result['collected_at'] = [DateTime]::UtcNow
if ($Query.ContainsKey('record')) {
    Add-WrRecord ([string]$Query['record']['path']) ([int]$Query['record']['keep']) (Format-WrJson $Result)
} else {
    Write-WrResult $Result
}
