# expect: Tuple
$t = [System.Tuple]::Create(1, 'a')
