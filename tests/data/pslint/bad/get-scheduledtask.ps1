# expect: Get-ScheduledTask
Get-ScheduledTask -TaskName x
