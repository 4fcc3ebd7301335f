# expect: % without a script block
Get-Service | % Name
