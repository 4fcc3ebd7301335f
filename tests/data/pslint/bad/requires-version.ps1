# expect: #requires -Version 3
#Requires -Version 3.0
Get-Date
