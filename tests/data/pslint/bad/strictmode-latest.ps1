# expect: Set-StrictMode -Version Latest
Set-StrictMode -Version Latest
