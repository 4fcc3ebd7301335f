# expect: ?.
$n = $a?.Name
