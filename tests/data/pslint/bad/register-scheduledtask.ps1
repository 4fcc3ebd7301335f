# expect: Register-ScheduledTask
Register-ScheduledTask -TaskName x -Action $a
