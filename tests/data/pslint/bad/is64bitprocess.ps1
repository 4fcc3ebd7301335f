# expect: ::Is64BitProcess
$x64 = [System.Environment]::Is64BitProcess
