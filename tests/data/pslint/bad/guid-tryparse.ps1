# expect: ::TryParse
$ok = [guid]::TryParse($s, [ref]$g)
