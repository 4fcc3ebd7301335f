"""A package's identity comes from its content; every refusal names the file and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from winremedy.catalog import load_catalog
from winremedy.errors import RepoError
from winremedy.catalog.service_packs import SERVICE_PACKS
from winremedy.lab.packages import package_bytes, pe_stub, service_pack_bytes, sfx_strings
from winremedy.lab.signing import lab_signer, make_signer
from winremedy.repo.cab import Cabinet, locate, write_cab
from winremedy.repo.identity import NT_VERSIONS, families_named, parse_keyed_text, read_identity
from winremedy.repo.manifest import Build
from winremedy.repo.verify import verify_package

CATALOG = load_catalog()
STUB = pe_stub()
KB903927_EXE = "WindowsServer2003-KB903927-x86-ENU.exe"
SFX = pe_stub(sfx_strings("KB903927", "Hotfix for Windows Server 2003", KB903927_EXE))  # its version resource agrees

# The shape of a real Windows6.1-KBnnnnnn-x64-pkgProperties.txt: UTF-16LE with a BOM, CRLF, quoted values.
REAL_PROPERTIES = (
    'ApplicabilityInfo="Windows 7.0 Client SP1;Windows 7.0 Server SP1;"\r\n'
    'Applies to="Windows 7"\r\n'
    'Build Date="2013/06/01"\r\n'
    'Company="Microsoft Corporation"\r\n'
    'File Version="6.1.7601.22590"\r\n'
    'Installation Type="FULL"\r\n'
    'Installer Engine="Component Based Servicing"\r\n'
    'Installer Version="6.1.7601.17514"\r\n'
    'KB Article Number="2847346"\r\n'
    'Language="ALL"\r\n'
    'Package Type="Hotfix"\r\n'
    'Processor Architecture="amd64"\r\n'
    'Product Name="Windows 7"\r\n'
    'Support Link="http://support.microsoft.com/?kbid=2847346"\r\n'
)


UPDATE_MUM = (
    '<assembly xmlns="urn:schemas-microsoft-com:asm.v3"><assemblyIdentity name="Package_for_KB2847346" '
    'version="6.1.1.0" processorArchitecture="amd64"/><package identifier="KB2847346"/></assembly>'
)


def msu(tmp_path: Path, name: str, properties: str = REAL_PROPERTIES, inner: bool = True, mum: str | None = None) -> Path:
    """A signed .msu with the given properties text (UTF-16LE, BOM) and, unless told otherwise, an update .cab
    whose update.mum agrees with the properties."""
    stem = Path(name).stem
    if mum is None:
        mum = UPDATE_MUM
        for key, default in (("KB Article Number", "2847346"), ("Processor Architecture", "amd64")):
            value = next((line.split("=", 1)[1].strip('"') for line in properties.splitlines() if line.startswith(key)), default)
            mum = mum.replace(default, value)
        applies = next((line.split("=", 1)[1].strip('"') for line in properties.splitlines()
                        if line.startswith("Applies to")), "")
        families = families_named(applies)
        if families:
            mum = mum.replace('version="6.1.', f'version="{NT_VERSIONS[families[0]]}.')
    files = [(f"{stem}.cab", write_cab([("update.mum", mum.encode())]))] if inner else []
    files.append((f"{stem}-pkgProperties.txt", b"\xff\xfe" + properties.encode("utf-16-le")))
    return signed(tmp_path / name, write_cab(files))


def signed(path: Path, data: bytes) -> Path:
    """``data`` signed by the lab's CA, written to ``path``."""
    path.write_bytes(lab_signer().sign(data, ".exe" if data[:2] == b"MZ" else ".msu"))
    return path


def lab_file(tmp_path: Path, kb: str, catalog_file: str, name: str | None = None, arch: str | None = None) -> Path:
    """The lab package for a catalog package, written under ``name`` (default: the catalog's file name)."""
    entry = CATALOG.get(kb)
    package = next(p for p in entry.packages if p.file == catalog_file)
    path = tmp_path / (name or catalog_file)
    path.write_bytes(package_bytes(entry, package, arch))
    return path


def refusal(path: Path) -> str:
    with pytest.raises(RepoError) as caught:
        verify_package(path, CATALOG, lab_signer().roots)
    assert caught.value.path == str(path) and str(caught.value).startswith(f"{path}: ")
    return caught.value.reason


# --- reading the content ---------------------------------------------------------------------------


def test_real_shaped_properties_text_parses_in_every_encoding() -> None:
    for data in (
        b"\xff\xfe" + REAL_PROPERTIES.encode("utf-16-le"),
        REAL_PROPERTIES.encode("utf-16-le"),  # no BOM
        b"\xef\xbb\xbf" + REAL_PROPERTIES.replace("\r\n", "\n").encode(),
    ):
        values = parse_keyed_text(data)
        assert values["kb article number"] == "2847346"
        assert values["processor architecture"] == "amd64"
        assert values["applies to"] == "Windows 7"
        assert values["applicabilityinfo"] == "Windows 7.0 Client SP1;Windows 7.0 Server SP1;"


def test_applies_to_names_map_to_families_longest_first() -> None:
    assert families_named("Windows Server 2008 R2") == ("win2008r2",)
    assert families_named("Windows 7; Windows Server 2008 R2") == ("win7", "win2008r2")
    assert families_named("Windows Vista, Windows Server 2008") == ("vista", "win2008")
    assert families_named("Windows 8") == ()


def test_msu_identity_is_read_from_the_properties_text(tmp_path: Path) -> None:
    identity = read_identity(msu(tmp_path, "renamed-download.msu"))
    assert (identity.kind, identity.kb, identity.arch, identity.nt_version) == ("msu", "KB2847346", "x64", "6.1")
    assert identity.families == ("win7",) and identity.source == "renamed-download-pkgProperties.txt"


def test_update_exe_identity_is_read_from_its_embedded_update_inf(tmp_path: Path) -> None:
    identity = read_identity(lab_file(tmp_path, "KB903927", "WindowsServer2003-KB903927-x86-ENU.exe", "setup.exe"))
    assert (identity.kind, identity.kb, identity.arch, identity.nt_version) == ("exe", "KB903927", "x86", "5.2.3790")
    assert identity.sps == (1, 1) and identity.source == "update\\update.inf"


# --- accepted --------------------------------------------------------------------------------------


def test_a_renamed_package_is_accepted_by_its_content(tmp_path: Path) -> None:
    entry = verify_package(msu(tmp_path, "463984_intl_x64_zip.msu"), CATALOG, lab_signer().roots)
    assert (entry.kb, entry.arch, entry.os) == ("KB2847346", "x64", ("win7", "win2008r2"))
    assert [(b.version, b.sp) for b in entry.builds] == [("6.1.7601", 1)]
    assert entry.identity["catalog_package"] == "Windows6.1-KB2847346-x64.msu"


def test_catalog_decides_the_builds_a_package_covers(tmp_path: Path) -> None:
    entry = verify_package(lab_file(tmp_path, "KB979223", "Windows6.0-KB979223-x86.msu"), CATALOG, lab_signer().roots)
    assert entry.os == ("vista", "win2008")
    assert [(b.version, b.sp) for b in entry.builds] == [("6.0.6001", 1), ("6.0.6002", 2)]


# --- refused ---------------------------------------------------------------------------------------


def test_not_a_cab(tmp_path: Path) -> None:
    path = tmp_path / "Windows6.1-KB2847346-x64.msu"
    path.write_bytes(b"<html>404 Not Found</html>")
    assert refusal(path).startswith("signature refused: ")  # refused before our parser reads a byte of it
    with pytest.raises(RepoError, match=r"not a CAB \(no MSCF signature\)"):
        read_identity(path)


def test_truncated_download(tmp_path: Path) -> None:
    path = lab_file(tmp_path, "KB2847346", "Windows6.1-KB2847346-x64.msu")
    path.write_bytes(path.read_bytes()[:1000])
    assert refusal(path).startswith("signature refused: ")
    with pytest.raises(RepoError, match=r"truncated: the CAB header says \d+ bytes, 1000 are present"):
        read_identity(path)


def test_a_package_altered_after_signing_is_refused(tmp_path: Path) -> None:
    path = lab_file(tmp_path, "KB2847346", "Windows6.1-KB2847346-x64.msu")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # in the signed content, not in the signature
    path.write_bytes(bytes(data))
    assert refusal(path) == "signature refused: the content does not match its signature (altered after signing)"


def test_kb_in_the_name_differs_from_the_content(tmp_path: Path) -> None:
    path = lab_file(tmp_path, "KB979223", "Windows6.1-KB979223-x64.msu", name="Windows6.1-KB2847346-x64.msu")
    assert refusal(path) == "mislabelled: the name says KB2847346, the content (Windows6.1-KB979223-x64-pkgProperties.txt) says KB979223"


def test_architecture_in_the_name_differs_from_the_content(tmp_path: Path) -> None:
    path = lab_file(tmp_path, "KB2847346", "Windows6.1-KB2847346-x64.msu", arch="x86")
    assert refusal(path) == "architecture mismatch: the name says x64, the content (Windows6.1-KB2847346-x86-pkgProperties.txt) says x86"


def test_msu_named_as_exe(tmp_path: Path) -> None:
    path = lab_file(tmp_path, "KB2847346", "Windows6.1-KB2847346-x64.msu", name="Windows6.1-KB2847346-x64.exe")
    assert refusal(path) == "mislabelled: named .exe, but the content is an msu"


def test_unknown_kb(tmp_path: Path) -> None:
    path = msu(tmp_path, "update.msu", REAL_PROPERTIES.replace("2847346", "2506143"))
    assert refusal(path) == "unknown KB: KB2506143 is not in the catalog (it knows KB2847346, KB903927, KB979223)"


def test_os_not_covered_by_the_catalogs_packages(tmp_path: Path) -> None:
    vista_ia64 = REAL_PROPERTIES.replace("2847346", "979223").replace("amd64", "ia64").replace("Windows 7", "Windows Vista")
    reason = refusal(msu(tmp_path, "a.msu", vista_ia64))
    assert reason.startswith("OS not covered: the content is KB979223 for vista ia64, which none of the catalog's packages is (")
    assert "Windows6.0-KB979223-ia64.msu (win2008 ia64)" in reason
    rtm = REAL_PROPERTIES.replace("Windows 7", "Windows Server 2003")
    assert refusal(msu(tmp_path, "b.msu", rtm)).startswith("OS not covered: the content is KB2847346 for win2003 x64")


def test_update_exe_for_a_service_pack_the_catalog_does_not_cover(tmp_path: Path) -> None:
    lab = lab_file(tmp_path, "KB903927", "WindowsServer2003-KB903927-x86-ENU.exe", name="lab.exe")
    with open(lab, "rb") as stream:
        cab = Cabinet(stream, "lab.exe", locate(stream) or 0)
        inf = cab.read(cab.members[0]).replace(b"ServicePackVersion=256", b"ServicePackVersion=512")
    path = tmp_path / "WindowsServer2003-KB903927-x86-ENU.exe"
    signed(path, SFX + write_cab([("update\\update.inf", inf)]))
    assert refusal(path) == "OS not covered: the content targets SP2-SP2, which the catalog's WindowsServer2003-KB903927-x86-ENU.exe does not install on"


def test_exe_without_an_embedded_cab(tmp_path: Path) -> None:
    path = signed(tmp_path / "WindowsServer2003-KB903927-x86-ENU.exe", STUB)
    assert refusal(path).startswith("an .exe without an embedded CAB")


def test_exe_whose_cab_names_no_kb_and_platform(tmp_path: Path) -> None:
    path = signed(tmp_path / "WindowsServer2003-KB903927-x86-ENU.exe",
                  STUB + write_cab([("update\\update.inf", b"[Version]\r\nSignature=\"$Windows NT$\"\r\n")]))
    assert refusal(path) == "the update.exe's embedded CAB names no KB and platform (looked in: update\\update.inf)"


def test_msu_without_properties_or_update_cab(tmp_path: Path) -> None:
    assert refusal(msu(tmp_path, "a.msu", inner=False)) == "an .msu without an update .cab inside"
    assert refusal(msu(tmp_path, "b.msu", "Company=\"Microsoft Corporation\"\r\n")) == "no properties .txt with a KB Article Number inside"


def test_properties_without_a_known_architecture(tmp_path: Path) -> None:
    path = msu(tmp_path, "a.msu", REAL_PROPERTIES.replace("amd64", "arm"))
    assert refusal(path) == "a-pkgProperties.txt gives no known processor architecture ('arm')"


@pytest.mark.parametrize(
    "name",
    ["Windows6.1-KB2847346-x64%PATH%.msu", "Windows6.1-KB2847346-x64 (1).msu", "Windows6.1-KB2847346-x64é.msu",
     "Windows6.1-KB2847346-x64&calc.msu", "-Windows6.1-KB2847346-x64.msu", "Windows6.1-KB2847346-x64.msu.txt"],
)
def test_names_outside_microsofts_pattern_are_refused_before_the_content_is_read(tmp_path: Path, name: str) -> None:
    path = lab_file(tmp_path, "KB2847346", "Windows6.1-KB2847346-x64.msu", name=name)
    assert refusal(path).startswith("file name refused: a package is named with ASCII letters, digits")


# --- signatures and cross-checked identity ---------------------------------------------------------


def test_an_unsigned_package_is_refused(tmp_path: Path) -> None:
    entry = CATALOG.get("KB2847346")
    package = next(p for p in entry.packages if p.file == "Windows6.1-KB2847346-x64.msu")
    path = tmp_path / package.file
    path.write_bytes(package_bytes(entry, package, signed=False))
    assert refusal(path) == "signature refused: the package is not signed (no Authenticode signature)"


def test_a_crafted_update_exe_with_a_hand_written_update_inf_is_refused(tmp_path: Path) -> None:
    genuine = lab_file(tmp_path, "KB903927", "WindowsServer2003-KB903927-x86-ENU.exe", name="genuine.exe")
    with open(genuine, "rb") as stream:
        cab = Cabinet(stream, "genuine.exe", locate(stream) or 0)
        inf = cab.read(cab.members[0])
    path = tmp_path / "WindowsServer2003-KB903927-x86-ENU.exe"
    path.write_bytes(b"MZ" + b"payload".ljust(400, b"\0") + write_cab([("update\\update.inf", inf)]))
    with pytest.raises(RepoError, match="not a valid PE image"):  # nor is its text alone enough any more
        read_identity(path)
    assert refusal(path).startswith("signature refused: ")


def test_a_package_signed_by_an_untrusted_ca_is_refused(tmp_path: Path) -> None:
    stranger = make_signer(tmp_path, "someone else")
    good = lab_file(tmp_path, "KB2847346", "Windows6.1-KB2847346-x64.msu")
    entry = CATALOG.get("KB2847346")
    package = next(p for p in entry.packages if p.file == good.name)
    good.write_bytes(stranger.sign(package_bytes(entry, package, signed=False), ".msu"))
    reason = refusal(good)
    assert reason.startswith("signature refused: the signer is not trusted: unable to get local issuer certificate")
    assert "someone else packages" in reason


def test_without_trusted_roots_nothing_is_accepted(tmp_path: Path) -> None:
    path = lab_file(tmp_path, "KB2847346", "Windows6.1-KB2847346-x64.msu")
    with pytest.raises(RepoError, match="cannot verify its signature: no trusted roots"):
        verify_package(path, CATALOG, None)
    with pytest.raises(RepoError, match="cannot verify its signature: no trusted roots"):
        verify_package(path, CATALOG, tmp_path / "missing.pem")


@pytest.mark.parametrize(
    ("mum", "reason"),
    [(UPDATE_MUM.replace("2847346", "979223"), "identity mismatch: a-pkgProperties.txt says KB2847346, a.cab!update.mum says"),
     (UPDATE_MUM.replace("amd64", "x86"), "identity mismatch: a-pkgProperties.txt says x64, a.cab!update.mum says 'x86'"),
     ("<assembly/>", "a.cab!update.mum names no package"),
     ("<assembly", "a.cab!update.mum is not XML")],
)
def test_an_msu_whose_update_mum_contradicts_its_properties_is_refused(tmp_path: Path, mum: str, reason: str) -> None:
    assert refusal(msu(tmp_path, "a.msu", mum=mum)).startswith(reason)


def test_an_update_inf_whose_titles_name_two_kbs_is_refused(tmp_path: Path) -> None:
    lab = lab_file(tmp_path, "KB903927", "WindowsServer2003-KB903927-x86-ENU.exe", name="lab.exe")
    with open(lab, "rb") as stream:
        cab = Cabinet(stream, "lab.exe", locate(stream) or 0)
        inf = cab.read(cab.members[0]).replace(b"$NtUninstallKB903927$", b"$NtUninstallKB979223$")
    path = signed(tmp_path / "WindowsServer2003-KB903927-x86-ENU.exe", STUB + write_cab([("update\\update.inf", inf)]))
    assert refusal(path) == "identity mismatch: update\\update.inf names KB903927 and, in UNINSTALL_DIR, KB979223"


MSU_X64 = "Windows6.1-KB2847346-x64.msu"
PROPERTIES_X64 = "Windows6.1-KB2847346-x64-pkgProperties.txt"


def altered_file(tmp_path: Path, kb: str, catalog_file: str, altered: tuple[str, str, str]) -> Path:
    """The lab package, signed, with one identity source edited (a genuine signature over a crafted content)."""
    entry = CATALOG.get(kb)
    package = next(p for p in entry.packages if p.file == catalog_file)
    path = tmp_path / catalog_file
    path.write_bytes(package_bytes(entry, package, altered=altered))
    return path


@pytest.mark.parametrize(
    ("altered", "reason"),
    [(("VERSIONINFO", "(KB903927)", "(KB979223)"),
      "identity mismatch: update\\update.inf says KB903927, the PE version resource (FileDescription) says KB979223"),
     (("VERSIONINFO", "-x86-", "-x64-"),
      "identity mismatch: update\\update.inf says x86, the PE version resource (OriginalFilename "
      f"'{KB903927_EXE.replace('x86', 'x64')}') says x64"),
     (("update.inf", "SP_SHORT_TITLE=\"KB903927\"", "SP_SHORT_TITLE=\"KB979223\""),
      "identity mismatch: update\\update.inf names KB979223 and, in SP_TITLE, KB903927")],
)
def test_an_update_exe_whose_version_resource_or_update_inf_disagrees_is_refused(
    tmp_path: Path, altered: tuple[str, str, str], reason: str
) -> None:
    assert refusal(altered_file(tmp_path, "KB903927", KB903927_EXE, altered)) == reason


def test_an_update_exe_without_a_version_resource_is_refused(tmp_path: Path) -> None:
    genuine = lab_file(tmp_path, "KB903927", KB903927_EXE, name="genuine.exe")
    with open(genuine, "rb") as stream:
        cab = Cabinet(stream, "genuine.exe", locate(stream) or 0)
        inf = cab.read(cab.members[0])
    path = signed(tmp_path / KB903927_EXE, STUB + write_cab([("update\\update.inf", inf)]))
    assert refusal(path) == "the PE has no version resource (VERSIONINFO): its identity cannot be cross-checked"


@pytest.mark.parametrize(
    ("altered", "reason"),
    [(("unattend.xml", "Package_for_KB2847346", "Package_for_KB979223"),
      f"identity mismatch: {PROPERTIES_X64} says KB2847346, Windows6.1-KB2847346-x64.xml says 'Package_for_KB979223'"),
     (("unattend.xml", 'processorArchitecture="amd64"', 'processorArchitecture="x86"'),
      f"identity mismatch: {PROPERTIES_X64} says x64, Windows6.1-KB2847346-x64.xml says 'x86'"),
     (("unattend.xml", "x64.CAB", "x86.CAB"),
      "identity mismatch: Windows6.1-KB2847346-x64.xml installs '%configsetroot%\\Windows6.1-KB2847346-x86.CAB', "
      "which is not an update .cab of this package (windows6.1-kb2847346-x64.cab)"),
     (("update.mum", 'version="6.1.1.0"', 'version="6.0.1.0"'),
      f"identity mismatch: {PROPERTIES_X64} says NT 6.1 (win7), Windows6.1-KB2847346-x64.cab!update.mum says "
      "version '6.0.1.0'")],
)
def test_an_msu_whose_unattend_xml_or_update_mum_disagrees_is_refused(
    tmp_path: Path, altered: tuple[str, str, str], reason: str
) -> None:
    assert refusal(altered_file(tmp_path, "KB2847346", MSU_X64, altered)) == reason


def test_the_lab_packages_identity_sources_all_agree(tmp_path: Path) -> None:
    """Each of the above differs from a package that is accepted only in the one source it edits."""
    assert verify_package(lab_file(tmp_path, "KB903927", KB903927_EXE), CATALOG, lab_signer().roots).kb == "KB903927"
    assert verify_package(lab_file(tmp_path, "KB2847346", MSU_X64), CATALOG, lab_signer().roots).kb == "KB2847346"


# --- service packs (a catalog prerequisite's own package) -----------------------------------------


def sp_file(tmp_path: Path, arch: str, name: str | None = None) -> Path:
    pack = SERVICE_PACKS["KB976932"]
    package = next(p for p in pack.packages if p.arch == arch)
    path = tmp_path / (name or package.file)
    path.write_bytes(service_pack_bytes(pack, package))
    return path


@pytest.mark.parametrize(("arch", "os"), [("x64", ("win7", "win2008r2")), ("x86", ("win7",)), ("ia64", ("win2008r2",))])
def test_service_pack_is_accepted_for_the_build_it_installs_on(tmp_path: Path, arch: str, os: tuple[str, ...]) -> None:
    entry = verify_package(sp_file(tmp_path, arch), CATALOG, lab_signer().roots)
    assert (entry.kb, entry.kind, entry.arch, entry.os) == ("KB976932", "exe", arch, os)
    assert entry.builds == (Build("6.1.7600", 0),) and entry.identity["service_pack"] == 1
    assert entry.identity["source"].endswith("update.mum")


def test_service_pack_with_a_mislabelled_architecture_is_refused(tmp_path: Path) -> None:
    assert refusal(sp_file(tmp_path, "x86", "windows6.1-KB976932-X64.exe")).startswith("architecture mismatch")


def test_hotfix_content_claiming_a_service_packs_kb_is_refused(tmp_path: Path) -> None:
    properties = REAL_PROPERTIES.replace("2847346", "976932")
    reason = refusal(msu(tmp_path, "Windows6.1-KB976932-x64.msu", properties))
    assert reason.startswith("KB976932 is a service pack, but the content") and "Service Pack" in reason
