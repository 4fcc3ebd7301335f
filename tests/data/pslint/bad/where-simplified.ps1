# expect: where-object without a script block
Get-Service | Where-Object Status -eq 'Running'
