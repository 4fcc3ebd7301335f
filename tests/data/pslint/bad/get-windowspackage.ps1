# expect: Get-WindowsPackage
Get-WindowsPackage -Online
