"""Reading Windows 2003's cacls and dir /q output into owners and write entries (remediate.cmdacl)."""

from __future__ import annotations

import pytest

from winremedy.remediate.cmdacl import AclEntry, is_account, parse_cacls, parse_dir_owners

# %SystemRoot%\Temp's own entries on Windows 2003, as a folder created below it inherits them (cacls prints a
# special access entry's rights one a line; the Windows 2000 Resource Kit shows the same layout)
TEMP_INHERITED = (
    "C:\\WINDOWS\\Temp\\winremedy BUILTIN\\Users:(CI)(special access:)\r\n"
    "                                            SYNCHRONIZE\r\n"
    "                                            FILE_WRITE_DATA\r\n"
    "                                            FILE_APPEND_DATA\r\n"
    "                                            FILE_EXECUTE\r\n"
    "\r\n"
    "                          BUILTIN\\Administrators:(OI)(CI)F\r\n"
    "                          NT AUTHORITY\\SYSTEM:(OI)(CI)F\r\n"
    "                          CREATOR OWNER:(OI)(CI)(IO)F\r\n"
    "                          SRV01\\squatter:(OI)(CI)F\r\n"
    "                          Everyone:R\r\n"
    "\r\n"
)
OURS_GERMAN = (
    "C:\\WINNT\\Temp\\winremedy NT-AUTORITÄT\\SYSTEM:(OI)(CI)F\r\n"
    "                        VORDEFINIERT\\Administratoren:(OI)(CI)F\r\n"
    "\r\n"
)
DIR_Q = (
    " Volume in drive C has no label.\r\n"
    " Volume Serial Number is 2C5F-0A13\r\n"
    "\r\n"
    " Directory of C:\\WINDOWS\\Temp\\winremedy\r\n"
    "\r\n"
    "12/04/2026  10:57 PM    <DIR>          BUILTIN\\Administrators .\r\n"
    "12/04/2026  10:57 PM    <DIR>          NT AUTHORITY\\SYSTEM    ..\r\n"
    "12/04/2026  10:58 PM           1234567 SRV01\\squatter         WindowsServer2003-KB903927-x86-ENU.exe.part\r\n"
    "12/04/2026  10:58 PM               103 BUILTIN\\Administrators pkg.exe.sha1\r\n"
    "               2 File(s)        1234670 bytes\r\n"
    "               2 Dir(s)  21474836480 bytes free\r\n"
)
DIR_Q_GERMAN = (
    " Verzeichnis von C:\\WINNT\\Temp\\winremedy\r\n"
    "\r\n"
    "04.12.2026  22:57    <DIR>          VORDEFINIERT\\Administr .\r\n"
    "04.12.2026  22:57    <DIR>          NT-AUTORITÄT\\SYSTEM    ..\r\n"
    "04.12.2026  22:58              3392 NT-AUTORITÄT\\SYSTEM    winremedy-install-KB903927.rc\r\n"
)


def test_cacls_entries_with_special_access_rights_and_who_may_write() -> None:
    entries = parse_cacls(TEMP_INHERITED, "C:\\WINDOWS\\Temp\\winremedy")
    assert entries[0] == AclEntry("BUILTIN\\Users", ("CI",), ("SYNCHRONIZE", "FILE_WRITE_DATA", "FILE_APPEND_DATA",
                                                             "FILE_EXECUTE"))
    assert [e.account for e in entries] == ["BUILTIN\\Users", "BUILTIN\\Administrators", "NT AUTHORITY\\SYSTEM",
                                            "CREATOR OWNER", "SRV01\\squatter", "Everyone"]
    assert entries[3] == AclEntry("CREATOR OWNER", ("OI", "CI", "IO"), ("F",))
    assert [e.account for e in entries if e.writes()] == ["BUILTIN\\Users", "BUILTIN\\Administrators",
                                                          "NT AUTHORITY\\SYSTEM", "CREATOR OWNER", "SRV01\\squatter"]


def test_cacls_of_the_projects_folder_on_a_german_windows_2000_upgrade() -> None:
    entries = parse_cacls(OURS_GERMAN, "C:\\WINNT\\Temp\\winremedy")
    assert entries == [AclEntry("NT-AUTORITÄT\\SYSTEM", ("OI", "CI"), ("F",)),
                       AclEntry("VORDEFINIERT\\Administratoren", ("OI", "CI"), ("F",))]
    assert all(is_account(e.account, ["SYSTEM", "Administratoren"]) for e in entries)


@pytest.mark.parametrize("text", ["Access is denied.\r\n", "C:\\WINDOWS\\Temp\\winremedy BUILTIN\\Users:(CI)???\r\n"])
def test_cacls_output_this_cannot_read_is_an_error_not_an_empty_acl(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cacls(text, "C:\\WINDOWS\\Temp\\winremedy")


def test_dir_q_owners_by_entry_the_folder_itself_as_dot() -> None:
    assert parse_dir_owners(DIR_Q) == {
        ".": "BUILTIN\\Administrators", "..": "NT AUTHORITY\\SYSTEM",
        "WindowsServer2003-KB903927-x86-ENU.exe.part": "SRV01\\squatter", "pkg.exe.sha1": "BUILTIN\\Administrators"}
    assert parse_dir_owners(DIR_Q_GERMAN)["."] == "VORDEFINIERT\\Administr"


def test_an_owner_cut_by_dir_q_matches_only_a_longer_trusted_name() -> None:
    trusted = ["SYSTEM", "Administratoren"]
    assert is_account("VORDEFINIERT\\Administr", trusted, cut=True)  # 22 characters: cut
    assert not is_account("VORDEFINIERT\\Administr", trusted)  # cacls never cuts
    assert not is_account("SRV01\\Admin", trusted, cut=True)  # shorter than the column: the whole name
    assert not is_account("SRV01\\squatter", trusted, cut=True) and not is_account("CREATOR OWNER", trusted)
    assert is_account("nt authority\\system", trusted) and is_account("NT-AUTORITÄT\\SYSTEM", trusted)
