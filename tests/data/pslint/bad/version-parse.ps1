# expect: ::Parse
$v = [version]::Parse('6.1.7601.22590')
