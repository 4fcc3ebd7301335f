# expect: ::new()
$sb = [System.Text.StringBuilder]::new()
