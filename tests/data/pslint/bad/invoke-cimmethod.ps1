# expect: Invoke-CimMethod
Invoke-CimMethod -ClassName Win32_Process -MethodName Create
