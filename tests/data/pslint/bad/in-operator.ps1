# expect: -in operator
if ($x -in @(1, 2)) { 'yes' }
