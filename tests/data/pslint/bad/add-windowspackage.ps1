# expect: Add-WindowsPackage
Add-WindowsPackage -Online -PackagePath C:\x.cab
