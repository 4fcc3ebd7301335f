# expect: using
using namespace System.IO
$f = [File]::Exists('x')
