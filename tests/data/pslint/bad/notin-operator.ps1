# expect: -notin operator
if ($x -notin $list) { 'no' }
