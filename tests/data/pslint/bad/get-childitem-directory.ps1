# expect: -directory
gci C:\Windows -Directory | Out-Null
