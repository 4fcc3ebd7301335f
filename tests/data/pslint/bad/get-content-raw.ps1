# expect: -Raw
$text = Get-Content -Path C:\x.txt -Raw
