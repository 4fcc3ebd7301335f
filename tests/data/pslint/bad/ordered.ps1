# expect: [ordered]
$h = [ordered]@{ a = 1; b = 2 }
