# expect: -file
Get-ChildItem C:\Windows -File
