# expect: Set-StrictMode -Version 3
Set-StrictMode -Version 3.0
