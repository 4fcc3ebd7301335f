# expect: ::IsNullOrWhiteSpace
if ([string]::IsNullOrWhiteSpace($s)) { 'empty' }
