# expect: ::Is64BitOperatingSystem
$x64 = [Environment]::Is64BitOperatingSystem
