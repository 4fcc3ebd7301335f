# expect: $psitem
Get-Process | ForEach-Object { $PSItem.Name }
