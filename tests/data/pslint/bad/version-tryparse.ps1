# expect: ::TryParse
$ok = [Version]::TryParse('6.1', [ref]$v)
