# winremedy-script: common 1
# Included by winremedy.scripts.render in every script, after $WinRemedyArgs: the one
# way a script reports. Write-WrResult prints one line '@@WINREMEDY@@' + JSON, ASCII
# only (\uXXXX escapes), without the JSON cmdlets PowerShell 2.0 lacks.
$Invariant = [Globalization.CultureInfo]::InvariantCulture

function Format-WrString([string]$s) {
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('"')
    foreach ($ch in $s.ToCharArray()) {
        $code = [int]$ch
        if ($ch -eq [char]'"') { [void]$sb.Append('\"') }
        elseif ($ch -eq [char]'\') { [void]$sb.Append('\\') }
        elseif ($code -lt 32 -or $code -gt 126) { [void]$sb.Append('\u' + $code.ToString('x4')) }
        else { [void]$sb.Append($ch) }
    }
    [void]$sb.Append('"')
    return $sb.ToString()
}

function Format-WrJson($value) {
    if ($null -eq $value) { return 'null' }
    if ($value -is [bool]) { if ($value) { return 'true' } return 'false' }
    if ($value -is [string] -or $value -is [char]) { return (Format-WrString ([string]$value)) }
    if ($value -is [datetime]) {
        return (Format-WrString ($value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', $Invariant)))
    }
    if ($value -is [double] -or $value -is [single]) {
        if ([double]::IsNaN($value) -or [double]::IsInfinity($value)) { return 'null' }
        return ([double]$value).ToString('R', $Invariant)
    }
    if ($value -is [ValueType]) { return ([string]::Format($Invariant, '{0}', $value)) }
    if ($value -is [Collections.IDictionary]) {
        $parts = New-Object System.Collections.ArrayList
        foreach ($key in $value.Keys) {
            [void]$parts.Add((Format-WrString ([string]$key)) + ':' + (Format-WrJson $value[$key]))
        }
        return '{' + [string]::Join(',', [string[]]$parts.ToArray()) + '}'
    }
    if ($value -is [Collections.IEnumerable]) {
        $parts = New-Object System.Collections.ArrayList
        foreach ($item in $value) { [void]$parts.Add((Format-WrJson $item)) }
        return '[' + [string]::Join(',', [string[]]$parts.ToArray()) + ']'
    }
    return (Format-WrString ([string]$value))
}

function Write-WrResult($value) {
    Write-Output ('@@WINREMEDY@@' + (Format-WrJson $value))
}
