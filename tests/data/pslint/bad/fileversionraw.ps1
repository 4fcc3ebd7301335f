# expect: .FileVersionRaw
$v = (Get-Item C:\Windows\System32\ntdll.dll).VersionInfo.FileVersionRaw
