# expect: ConvertFrom-Json
$t = '{}' | ConvertFrom-Json
