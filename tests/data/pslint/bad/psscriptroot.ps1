# expect: $psscriptroot
$here = $PSScriptRoot
