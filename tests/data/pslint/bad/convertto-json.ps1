# expect: ConvertTo-Json
$o = Get-Process
$o | ConvertTo-Json -Depth 2
