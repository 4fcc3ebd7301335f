# expect: Invoke-RestMethod
$r = Invoke-RestMethod http://x/api
