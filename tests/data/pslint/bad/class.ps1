# expect: class keyword
class Host {
    [string]$Name
}
