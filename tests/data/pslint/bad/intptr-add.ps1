# expect: ::Add
$p = [IntPtr]::Add($base, 8)
