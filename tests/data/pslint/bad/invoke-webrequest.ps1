# expect: Invoke-WebRequest
Invoke-WebRequest -Uri http://x/ -OutFile y
