"""What a Windows install has before anyone changes it: where Windows lives, its first adapter, its .NET.

The probe names what differs on a host (a note), and the lab builds hosts that have these unless their fleet
entry says otherwise; both read them here, so a default host is one thing.

.NET, from ".NET Framework versions and dependencies" (Microsoft Learn; dotnet/docs
``docs/framework/migration-guide/versions-and-dependencies.md``): 1.1 is included in Windows Server 2003; 3.0
in Vista (on 2008 a feature to turn on); 3.5 in Windows 7 (on 2008 R2 SP1 a feature); 2.0, 3.0 and 3.5 are
layers of one installation, so 3.0 and 3.5 bring 2.0. The page's table also ticks 2.0 for "2003": that is
Windows Server 2003 R2, which carries it as an optional component; 2003 itself has 1.1 alone. PowerShell 2.0
needs .NET 2.0 (about_Remote_Requirements, Microsoft Learn), so a host with PowerShell has it.
"""

from __future__ import annotations

DEFAULT_SYSTEM_ROOT = "C:\\Windows"  # %SystemRoot% of a clean install (2000, and 2003 upgraded from it: C:\WINNT)
DEFAULT_ADAPTER = "Local Area Connection"  # the name Windows gives the first wired adapter
IN_BOX_DOTNET = {"5.2": ("1.1",), "6.0": ("2.0", "3.0"), "6.1": ("2.0", "3.0", "3.5")}  # by NT major.minor
POWERSHELL_DOTNET = "2.0"


def default_dotnet(os_version: str, powershell: bool) -> tuple[str, ...] | None:
    """The .NET versions a host of ``os_version`` (``5.2``, ``6.1.7601``) has without anyone adding one, with
    PowerShell or without; None for a version this table does not know."""
    in_box = IN_BOX_DOTNET.get(".".join(os_version.split(".")[:2]))
    if in_box is None or not powershell or POWERSHELL_DOTNET in in_box:
        return in_box
    return (*in_box, POWERSHELL_DOTNET)
