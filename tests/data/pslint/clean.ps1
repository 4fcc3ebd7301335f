# Legal PowerShell 2.0 that mentions forbidden things only where they are not code:
# ConvertTo-Json, Get-CimInstance, [ordered], $PSItem, -in, ::new(), class, Where-Object Name -eq x
<#
  A block comment: Invoke-WebRequest, [string]::IsNullOrWhiteSpace, .HasFlag(, Set-StrictMode -Version Latest
#>
#requires -Version 2.0
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$words = 'ConvertTo-Json Get-CimInstance [ordered] [pscustomobject] $PSItem -in -notin ::new('
$more = "Invoke-RestMethod and Get-ScheduledTask and .FileVersionRaw and `$PSScriptRoot"
$here = @'
class Foo { }
enum Bar { A }
using namespace System
$a ? 1 : 2
'@
$items = Get-ChildItem -Path C:\Windows -Include *.dll -Recurse -ErrorAction SilentlyContinue
$files = @(Get-ChildItem C:\Windows | Where-Object { -not $_.PSIsContainer })
$dirs = Get-ChildItem C:\Windows | Where-Object -FilterScript { $_.PSIsContainer }
$names = $items | ForEach-Object { $_.Name }
$counts = $items | ForEach-Object -Process { 1 }
$v = [version]"1.2.3.4"
$w = [Version]'6.1.7601.22590'
$x64 = [IntPtr]::Size -eq 8
$o = New-Object PSObject -Property @{ Name = 'x'; Index = 1 }
$o | Select-Object -InputObject $o -Property Name | Out-Null
$list = @(1, 2, 3)
if ($list -contains 2 -and -not ($list -notcontains 3)) { $found = $true }
$dict = New-Object System.Collections.Specialized.OrderedDictionary
$info = [Diagnostics.FileVersionInfo]::GetVersionInfo("$env:windir\System32\ntdll.dll")
$ver = '{0}.{1}.{2}.{3}' -f $info.FileMajorPart, $info.FileMinorPart, $info.FileBuildPart, $info.FilePrivatePart
$text = [IO.File]::ReadAllText("$env:windir\win.ini")
$empty = [string]::IsNullOrEmpty($text)
$joined = $list -join ','
$intersection = $list | Where-Object { $_ -ge 2 }
function Get-Thing {
    param([string]$In, [string]$NotIn)
    Write-Output ($In + $NotIn)
}
Get-Thing -In 'a' -NotIn 'b'
$sb = New-Object System.Text.StringBuilder
[void]$sb.Append('x')
$flags = [IO.FileAttributes]::Hidden
$hidden = ($flags -band [IO.FileAttributes]::Hidden) -eq [IO.FileAttributes]::Hidden
$scriptDir = Split-Path -Parent $MyInvocation.MyCommand.Path
foreach ($n in $names) { if ($n) { $n } }
$wmi = Get-WmiObject -Class Win32_OperatingSystem
exit 0
