# expect: && operator
Get-Date && Get-Host
