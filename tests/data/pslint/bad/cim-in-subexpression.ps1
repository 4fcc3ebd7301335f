# expect: Get-CimInstance
Write-Output "booted $(Get-CimInstance Win32_OperatingSystem)"
