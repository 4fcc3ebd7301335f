# expect: New-CimSession
$s = New-CimSession -ComputerName web01
