# winremedy-include: hostread
# Included by winremedy.scripts.render in the scripts that name it (collect, probe): how
# they read the host - registry values and keys (HKLM, or HKCU: the account WinRM runs
# as) and file versions - and note what failed, section by section, in $Errors (each
# script makes that list). .NET 2.0 only.

function Add-WrError([string]$section, $err) {
    [void]$Errors.Add($section + ': ' + [string]$err)
}

function Open-WrKey([string]$path) {
    # 'HKLM\...' or 'HKCU\...' (the account WinRM runs as) opened read-only; $null when the key does not exist
    $hive = [Microsoft.Win32.Registry]::LocalMachine
    if ($path.StartsWith('HKCU\', [StringComparison]::OrdinalIgnoreCase)) { $hive = [Microsoft.Win32.Registry]::CurrentUser }
    return $hive.OpenSubKey($path.Substring($path.IndexOf('\') + 1))
}

function Get-WrRegistryValue([string]$path) {
    $cut = $path.LastIndexOf('\')
    $key = Open-WrKey ($path.Substring(0, $cut))
    if ($null -eq $key) { return $null }
    try { return $key.GetValue($path.Substring($cut + 1)) } finally { $key.Close() }
}

function Get-WrSubKeys([string]$path) {
    # The key's subkey names; $null when the key does not exist.
    $key = Open-WrKey $path
    if ($null -eq $key) { return $null }
    try { return ,$key.GetSubKeyNames() } finally { $key.Close() }
}

function Test-WrRegistryKey([string]$path) {
    $key = Open-WrKey $path
    if ($null -eq $key) { return $false }
    $key.Close()
    return $true
}

function Get-WrFileVersion([string]$path) {
    $full = [Environment]::ExpandEnvironmentVariables($path)
    if (-not [IO.File]::Exists($full)) { return $null }
    $info = [Diagnostics.FileVersionInfo]::GetVersionInfo($full)
    return ('{0}.{1}.{2}.{3}' -f $info.FileMajorPart, $info.FileMinorPart, $info.FileBuildPart, $info.FilePrivatePart)
}
