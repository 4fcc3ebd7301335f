# expect: Get-NetAdapter
Get-NetAdapter | Select-Object Name
