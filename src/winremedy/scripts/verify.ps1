# winremedy-script: verify 1
# Run by the SYSTEM install task (winremedy.remediate.install) as the line right before the installer,
# hours after staging perhaps (maintenance windows): the staged package ('path') must still have the
# manifest's SHA-256 ('sha256'), else the task ends with exit code 0x80096010 (TRUST_E_BAD_DIGEST) and
# the installer never runs. A missing file ends it with 0x80070002 (file not found), an unreadable one with 1.
# The class is stage.ps1's: SHA256CryptoServiceProvider (System.Core 3.5), else SHA256Managed, which the FIPS
# policy forbids (SHA256.Create() is that one too), else SHA1CryptoServiceProvider compared with the lines of
# 'digests' (the package's SHA-1, written beside it when it was committed); without that file the task ends
# with 0x80090008 (NTE_BAD_ALGID). -contains and -ne compare hex digits case-insensitively.
$ErrorActionPreference = 'Stop'
$A = $WinRemedyArgs
if (-not [IO.File]::Exists($A.path)) { exit -2147024894 }
$expected = @($A.sha256)
try {
    Add-Type -AssemblyName 'System.Core, Version=3.5.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089'
    $sha = New-Object Security.Cryptography.SHA256CryptoServiceProvider
} catch {
    try { $sha = New-Object Security.Cryptography.SHA256Managed } catch {
        if (-not [IO.File]::Exists($A.digests)) { exit -2146893816 }
        $sha = New-Object Security.Cryptography.SHA1CryptoServiceProvider
        $expected = [IO.File]::ReadAllLines($A.digests)
    }
}
$stream = [IO.File]::Open($A.path, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::Read)
try { $hash = [BitConverter]::ToString($sha.ComputeHash($stream)).Replace('-', '') } finally { $stream.Close() }
if ($expected -notcontains $hash) { exit -2146869232 }
exit 0
