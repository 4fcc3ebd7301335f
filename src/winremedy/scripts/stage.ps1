# winremedy-script: stage 1
# One step of putting a package on the host; the controller (winremedy.remediate.stage)
# decides which steps run and in what order. $WinRemedyArgs.action is one of:
#   probe  free bytes on the drive of 'directory'; size and digest of 'path' and 'part'. Writes nothing.
#   write  base64 'data' written at byte 'offset' of 'part'. The file is cut to 'offset' first, so a chunk
#          sent twice is harmless; a file shorter than 'offset' is an error (a chunk went missing). A final
#          chunk (with 'sha256') sent again after its commit (the answer was lost on the wire) finds no 'part'
#          and 'path' already the package: it answers committed, as the first run did.
#   url    System.Net.WebClient downloads 'source' to 'part'.
#   unc    'source' (a file on a share) is copied to 'part'.
#   folder only the staging folder below (for the task script's .cmd).
# Owners and ACLs: SYSTEM runs what this folder holds, maybe hours later, so nobody else may write in it.
# 'trusted' are the SIDs that may own or write it (SYSTEM, Administrators: well-known SIDs, not names, which
# are localized, KB157234), 'owner' the one that owns what this creates (Vista and later would give it the
# account's own SID). probe reports, as 'foreign', the owners and write entries of the folder, 'path' and
# 'part' outside 'trusted'; write, url, unc and folder create a missing folder with its own ACL ('trusted'
# full control, nothing inherited from %SystemRoot%\Temp, where Users may create files) and refuse a folder
# or file that is not ours, before anything is written.
# After write, url or unc, when 'sha256' is given: 'part' is hashed; if it matches it replaces 'path'
# (and 'sha1' is written to 'digests', for the install task of a host that hashes with SHA-1: verify.ps1),
# otherwise it is deleted. The hash is the first the host can compute: SHA256CryptoServiceProvider
# (System.Core 3.5; FIPS-validated), else SHA256Managed (throws under the FIPS policy: "This
# implementation is not part of the Windows Platform FIPS validated cryptographic algorithms."), else
# SHA1CryptoServiceProvider compared with 'sha1' (none given: nothing is committed). Every digest is
# reported with its 'basis' (the class used). Output: one result frame; a failure is its 'error'
# (the Windows or HTTP message), never an exception.
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
$A = $WinRemedyArgs
foreach ($key in @('directory', 'path', 'part')) {
    # Paths come as %SystemRoot%\Temp\...: the host's own Windows folder (C:\WINNT after a Windows 2000 upgrade).
    if ($A[$key]) { $A[$key] = [Environment]::ExpandEnvironmentVariables([string]$A[$key]) }
}

function New-WrHasher {
    try {
        Add-Type -AssemblyName 'System.Core, Version=3.5.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089'
        return New-Object Security.Cryptography.SHA256CryptoServiceProvider
    } catch { }
    try { return New-Object Security.Cryptography.SHA256Managed } catch { }
    return New-Object Security.Cryptography.SHA1CryptoServiceProvider
}
$Hasher = New-WrHasher
$Basis = $Hasher.GetType().Name

function Get-WrDigest([string]$path) {
    $stream = [IO.File]::OpenRead($path)
    try { $hash = $Hasher.ComputeHash($stream) } finally { $stream.Close() }
    return [BitConverter]::ToString($hash).Replace('-', '').ToLowerInvariant()
}

function Get-WrFileState([string]$path) {
    if (-not [IO.File]::Exists($path)) { return $null }
    return @{ size = (New-Object IO.FileInfo $path).Length; basis = $Basis; digest = (Get-WrDigest $path) }
}

$Trusted = [string[]]$A.trusted
# FileSystemRights that change a folder or file: WriteData, AppendData, WriteExtendedAttributes,
# DeleteSubdirectoriesAndFiles, WriteAttributes, Delete, ChangePermissions, TakeOwnership, GENERIC_ALL,
# GENERIC_WRITE ("FileSystemRights Enum", Microsoft Learn; ACCESS_MASK, Microsoft Learn)
$WriteMask = 0x2 -bor 0x4 -bor 0x10 -bor 0x40 -bor 0x100 -bor 0x10000 -bor 0x40000 -bor 0x80000 -bor 0x10000000 -bor 0x40000000

function Get-WrName([string]$sid) {
    try { return $sid + ' (' + (New-Object Security.Principal.SecurityIdentifier $sid).Translate([Security.Principal.NTAccount]).Value + ')' }
    catch { return $sid }
}

function Get-WrForeign([string]$path, [bool]$folder) {
    # The owner and the write entries of 'path' outside $Trusted; an empty list when it is ours or absent
    $foreign = @()
    if ($folder) {
        if (-not [IO.Directory]::Exists($path)) { return ,$foreign }
        $acl = [IO.Directory]::GetAccessControl($path)
    } else {
        if (-not [IO.File]::Exists($path)) { return ,$foreign }
        $acl = [IO.File]::GetAccessControl($path)
    }
    $owner = $acl.GetOwner([Security.Principal.SecurityIdentifier]).Value
    if ($Trusted -notcontains $owner) { $foreign += 'owner ' + (Get-WrName $owner) }
    foreach ($rule in $acl.GetAccessRules($true, $true, [Security.Principal.SecurityIdentifier])) {
        $sid = $rule.IdentityReference.Value
        $writes = ([int64]$rule.FileSystemRights -band $WriteMask) -ne 0
        if ($rule.AccessControlType -eq 'Allow' -and $writes -and $Trusted -notcontains $sid) { $foreign += 'write for ' + (Get-WrName $sid) }
    }
    return ,$foreign
}

function Initialize-WrFolder([string]$folder) {
    # Created with its own ACL when missing; then the folder and the files to be written must be ours
    if (-not [IO.Directory]::Exists($folder)) {
        $security = New-Object Security.AccessControl.DirectorySecurity
        $security.SetAccessRuleProtection($true, $false)
        foreach ($sid in $A.trusted) {
            $rule = New-Object Security.AccessControl.FileSystemAccessRule ((New-Object Security.Principal.SecurityIdentifier $sid),
                'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
            $security.AddAccessRule($rule)
        }
        $security.SetOwner((New-Object Security.Principal.SecurityIdentifier $A.owner))
        [void][IO.Directory]::CreateDirectory($folder, $security)
    }
    foreach ($item in @(@($folder, $true), @($A.part, $false), @($A.path, $false))) {
        if (-not $item[0]) { continue }
        $foreign = Get-WrForeign $item[0] $item[1]
        if ($foreign.Count -gt 0) { throw ($item[0] + ' is not ours: ' + [string]::Join(', ', [string[]]$foreign)) }
    }
}

function Set-WrOwner([string]$path) {
    $acl = [IO.File]::GetAccessControl($path)
    $acl.SetOwner((New-Object Security.Principal.SecurityIdentifier $A.owner))
    [IO.File]::SetAccessControl($path, $acl)
}

function Get-WrMessage($err) {
    $e = $err.Exception
    if ($e -is [Management.Automation.MethodInvocationException] -and $e.InnerException) { $e = $e.InnerException }
    return $e.Message
}

function Get-WrExpected {
    # The digest to compare with, by the class this host hashes with (SHA-1 only where SHA-256 is not to be had)
    if ($Basis -like 'SHA1*') { return $A.sha1 }
    return $A.sha256
}

function Test-WrCommitted {
    if ($A.action -ne 'write' -or -not $A.sha256 -or [IO.File]::Exists($A.part)) { return $false }
    $state = Get-WrFileState $A.path
    $expected = Get-WrExpected
    return ($null -ne $state -and $expected -and $state.digest -eq $expected)
}

function Write-WrChunk {
    $bytes = [Convert]::FromBase64String($A.data)
    $stream = [IO.File]::Open($A.part, [IO.FileMode]::OpenOrCreate, [IO.FileAccess]::Write)
    try {
        if ($stream.Length -lt $A.offset) {
            throw ('{0} has {1} bytes, the chunk starts at byte {2}' -f $A.part, $stream.Length, $A.offset)
        }
        $stream.SetLength($A.offset)
        [void]$stream.Seek(0, [IO.SeekOrigin]::End)
        $stream.Write($bytes, 0, $bytes.Length)
        return $stream.Length
    } finally { $stream.Close() }
}

function Receive-WrFile {
    try {
        if ($A.action -eq 'url') {
            $client = New-Object System.Net.WebClient
            try { $client.DownloadFile($A.source, $A.part) } finally { $client.Dispose() }
        } else {
            [IO.File]::Copy($A.source, $A.part, $true)
        }
    } catch {
        if ([IO.File]::Exists($A.part)) { [IO.File]::Delete($A.part) }
        throw
    }
    return (New-Object IO.FileInfo $A.part).Length
}

$result = @{ action = $A.action }
try {
    if ($A.action -eq 'probe') {
        $result.free = (New-Object IO.DriveInfo ([IO.Path]::GetPathRoot($A.directory))).AvailableFreeSpace
        $result.file = Get-WrFileState $A.path
        $result.part = Get-WrFileState $A.part
        $result.foreign = @{}
        foreach ($item in @(@('folder', $A.directory, $true), @('file', $A.path, $false), @('part', $A.part, $false))) {
            $foreign = Get-WrForeign $item[1] $item[2]
            if ($foreign.Count -gt 0) { $result.foreign[$item[0]] = $foreign }
        }
    } elseif ($A.action -eq 'folder') {
        Initialize-WrFolder $A.directory
    } elseif (Test-WrCommitted) {
        $result.size = $A.offset + [Convert]::FromBase64String($A.data).Length
        $result.basis = $Basis
        $result.digest = Get-WrExpected
        $result.committed = $true
    } else {
        Initialize-WrFolder ([IO.Path]::GetDirectoryName($A.part))
        if ($A.action -eq 'write') { $result.size = Write-WrChunk } else { $result.size = Receive-WrFile }
        Set-WrOwner $A.part
        if ($A.sha256) {
            $expected = Get-WrExpected
            $result.basis = $Basis
            $result.digest = Get-WrDigest $A.part
            if ($expected -and $result.digest -eq $expected) {
                if ([IO.File]::Exists($A.path)) { [IO.File]::Delete($A.path) }
                [IO.File]::Move($A.part, $A.path)
                if ($A.digests) { [IO.File]::WriteAllText($A.digests, [string]$A.sha1, [Text.Encoding]::ASCII) }
                $result.committed = $true
            } else {
                [IO.File]::Delete($A.part)
                $result.committed = $false
            }
        }
    }
} catch {
    $result.error = Get-WrMessage $_
}
Write-WrResult $result
