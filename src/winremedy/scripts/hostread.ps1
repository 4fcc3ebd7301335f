# winremedy-include: hostread
# Included by winremedy.scripts.render in the scripts that name it (collect, probe): how
# they read the host - registry values and keys (HKLM, or HKCU: the account WinRM runs
# as) and file versions - and note what failed, section by section, in $Errors (each
# script makes that list). .NET 2.0 only.

function Add-WrError([string]$section, $err) {
    [void]$Errors.Add($section + ': ' + [string]$err)
}

function Open-WrHive([string]$path) {
    if ($path.StartsWith('HKCU\', [StringComparison]::OrdinalIgnoreCase)) { return [Microsoft.Win32.Registry]::CurrentUser }
    return [Microsoft.Win32.Registry]::LocalMachine
}

function Get-WrRegistryValue([string]$path) {
    $rest = $path.Substring($path.IndexOf('\') + 1)
    $cut = $rest.LastIndexOf('\')
    $key = (Open-WrHive $path).OpenSubKey($rest.Substring(0, $cut))
    if ($null -eq $key) { return $null }
    try { return $key.GetValue($rest.Substring($cut + 1)) } finally { $key.Close() }
}

function Get-WrSubKeys([string]$path) {
    # The key's subkey names; $null when the key does not exist.
    $key = (Open-WrHive $path).OpenSubKey($path.Substring($path.IndexOf('\') + 1))
    if ($null -eq $key) { return $null }
    try { return ,$key.GetSubKeyNames() } finally { $key.Close() }
}

function Test-WrRegistryKey([string]$path) {
    $key = (Open-WrHive $path).OpenSubKey($path.Substring($path.IndexOf('\') + 1))
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
