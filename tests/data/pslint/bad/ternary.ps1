# expect: ?:
$a = $true
$b = $a ? 1 : 2
