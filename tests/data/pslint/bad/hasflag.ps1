# expect: .HasFlag
if ($attributes.HasFlag([IO.FileAttributes]::Hidden)) { 'hidden' }
