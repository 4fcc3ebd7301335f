# expect: [pscustomobject]
$o = [PSCustomObject]@{ Name = 'x' }
