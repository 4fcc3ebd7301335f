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
# After write, url or unc, when 'sha256' is given: 'part' is hashed; if it matches it replaces 'path',
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
    } elseif (Test-WrCommitted) {
        $result.size = $A.offset + [Convert]::FromBase64String($A.data).Length
        $result.basis = $Basis
        $result.digest = Get-WrExpected
        $result.committed = $true
    } else {
        $folder = [IO.Path]::GetDirectoryName($A.part)
        if (-not [IO.Directory]::Exists($folder)) { [void][IO.Directory]::CreateDirectory($folder) }
        if ($A.action -eq 'write') { $result.size = Write-WrChunk } else { $result.size = Receive-WrFile }
        if ($A.sha256) {
            $expected = Get-WrExpected
            $result.basis = $Basis
            $result.digest = Get-WrDigest $A.part
            if ($expected -and $result.digest -eq $expected) {
                if ([IO.File]::Exists($A.path)) { [IO.File]::Delete($A.path) }
                [IO.File]::Move($A.part, $A.path)
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
