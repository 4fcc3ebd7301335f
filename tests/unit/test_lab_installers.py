"""The lab's installer programs: decisions from the staged content, each tool's exit codes, host time taken."""

from __future__ import annotations

import pytest

from winremedy.catalog import load_catalog
from winremedy.catalog.service_packs import SERVICE_PACKS
from winremedy.lab import installers
from winremedy.lab.clock import ManualClock
from winremedy.lab.emulated import PROGRAMS, EmulatedHost
from winremedy.lab.host import HostSpec
from winremedy.lab.packages import package_bytes, service_pack_bytes
from winremedy.lab.profiles import OsProfile
from winremedy.lab.scheduler import RunContext, run_program

START = 1_709_251_200.0
MSU = r"C:\Windows\Temp\winremedy\Windows6.1-KB2847346-x64.msu"
EXE = r"C:\Windows\Temp\winremedy\WindowsServer2003-KB903927-x86-ENU.exe"
OUT = r"C:\Windows\Temp\winremedy\KB2847346"
CAB = OUT + r"\Windows6.1-KB2847346-x64.cab"
SYSTEM = RunContext(START, "system")


def make(family: str = "win7", sp: int = 1, arch: str = "x64", **spec: object) -> EmulatedHost:
    profile = OsProfile(family, sp, arch)  # type: ignore[arg-type]
    return EmulatedHost(HostSpec(name="prog-01", profile=profile, user="u", password="p", **spec), ManualClock(START))  # type: ignore[arg-type]


def exit_code(host: EmulatedHost, argv: list[str], ctx: RunContext = SYSTEM) -> int:
    ran = run_program(host, argv, ctx, PROGRAMS)
    assert ran is not None, argv[0]
    return ran[0]


def staged(kb: str, file: str) -> bytes:
    kb_entry = load_catalog().get(kb)
    return package_bytes(kb_entry, next(p for p in kb_entry.packages if p.file == file))


def test_wusa_takes_host_time_and_reads_the_content_not_the_name() -> None:
    host = make()
    renamed = r"C:\Windows\Temp\winremedy\anything-at-all.msu"
    host.fs.write(renamed, staged("KB2847346", "Windows6.1-KB2847346-x64.msu"))
    assert run_program(host, ["wusa.exe", renamed, "/quiet", "/norestart"], SYSTEM, PROGRAMS) == (3010, 90.0)
    assert "KB2847346" in host.installed()


def test_wusa_not_applicable_by_the_catalog_after_the_content_fits() -> None:
    host = make()  # Windows 7 SP1 carries the WFP fix itself: CBS refuses the RTM hotfix
    host.fs.write(MSU, staged("KB979223", "Windows6.1-KB979223-x64.msu"))
    assert exit_code(host, ["wusa", MSU]) == installers.WU_NOT_APPLICABLE
    assert host.installed() == {}


@pytest.mark.parametrize(
    ("damage", "code"), [("missing", installers.FILE_NOT_FOUND), ("corrupt", installers.FILE_CORRUPT)]
)
def test_wusa_on_a_missing_or_damaged_file(damage: str, code: int) -> None:
    host = make()
    if damage == "corrupt":
        data = bytearray(staged("KB2847346", "Windows6.1-KB2847346-x64.msu"))
        data[len(data) // 3] ^= 0xFF  # inside a data block, before the signature
        host.fs.write(MSU, bytes(data))
    assert exit_code(host, ["wusa", MSU, "/quiet"]) == code
    assert host.installed() == {}


def test_wusa_under_a_network_logon_is_access_denied_even_for_a_good_package() -> None:
    host = make()
    host.fs.write(MSU, staged("KB2847346", "Windows6.1-KB2847346-x64.msu"))
    assert exit_code(host, ["wusa", MSU], RunContext(START, "network")) == installers.ACCESS_DENIED
    assert host.installed() == {}


def test_expand_writes_every_member_and_fails_on_a_missing_source() -> None:
    host = make()
    host.fs.write(MSU, staged("KB2847346", "Windows6.1-KB2847346-x64.msu"))
    assert run_program(host, ["expand.exe", "-F:*", MSU, OUT], SYSTEM, PROGRAMS) == (0, 5.0)
    assert [name.rsplit("\\", 1)[1] for name in host.fs.listdir(OUT)] == [
        "Windows6.1-KB2847346-x64-pkgProperties.txt", "Windows6.1-KB2847346-x64.cab", "Windows6.1-KB2847346-x64.xml"]
    assert exit_code(host, ["expand.exe", "-F:*", MSU + ".gone", OUT]) == 1


def test_dism_and_pkgmgr_read_the_update_mum() -> None:
    host = make()
    host.fs.write(MSU, staged("KB2847346", "Windows6.1-KB2847346-x64.msu"))
    run_program(host, ["expand", "-F:*", MSU, OUT], SYSTEM, PROGRAMS)
    assert run_program(host, ["Dism.exe", "/Online", "/Add-Package", f"/PackagePath:{CAB}", "/Quiet"], SYSTEM, PROGRAMS) == (3010, 60.0)
    # again while its restart is pending, then after it: CBS tools report success, not a code of their own [INF]
    assert exit_code(host, ["pkgmgr.exe", "/ip", f"/m:{CAB}", "/quiet"]) == 3010
    host.reboot()
    clock = host.clock
    assert isinstance(clock, ManualClock)
    clock.advance(host.reboot_downtime + 1)
    assert host.is_up()  # settles: the boot applies the update
    assert exit_code(host, ["dism", "/online", "/add-package", f"/packagepath:{CAB}"]) == 0
    assert host.counters.installs == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["/Online", "/Add-Package"], installers.INVALID_PARAMETER),
        (["/Online", "/Add-Package", f"/PackagePath:{CAB}.gone"], 2),
        (["/Online", "/Add-Package", f"/PackagePath:{MSU}"], installers.CBS_INVALID_PACKAGE),  # an .msu has no update.mum
    ],
)
def test_dism_refusals(args: list[str], code: int) -> None:
    host = make()
    host.fs.write(MSU, staged("KB2847346", "Windows6.1-KB2847346-x64.msu"))
    assert exit_code(host, ["dism", *args]) == code


def test_a_staged_exe_is_update_exe_and_checks_its_service_pack_range() -> None:
    sp1 = make("win2003", 1, "x86", products=("lcs2003",))
    sp1.fs.write(EXE, staged("KB903927", "WindowsServer2003-KB903927-x86-ENU.exe"))
    assert run_program(sp1, [EXE, "/quiet", "/norestart"], RunContext(START, "network"), PROGRAMS) == (0, 45.0)
    assert exit_code(sp1, [EXE, "/quiet"]) == 0  # again: a silent reinstall [UNVERIFIED]
    sp2 = make("win2003", 2, "x86")
    sp2.fs.write(EXE, staged("KB903927", "WindowsServer2003-KB903927-x86-ENU.exe"))
    assert exit_code(sp2, [EXE, "/quiet"]) == installers.UPDATE_NOT_APPLICABLE
    assert sp2.installed() == {} and sp1.counters.installs == 1


def test_an_unknown_program_is_none_and_a_damaged_exe_is_not_a_program() -> None:
    host = make("win2003", 1, "x86")
    assert run_program(host, ["nosuch.exe"], SYSTEM, PROGRAMS) is None
    host.fs.write(EXE, b"MZ" + b"\0" * 200)
    assert exit_code(host, [EXE, "/quiet"]) == installers.BAD_EXE_FORMAT


SP1_X64 = r"C:\Windows\Temp\winremedy\windows6.1-KB976932-X64.exe"


def _service_pack(arch: str) -> bytes:
    pack = SERVICE_PACKS["KB976932"]
    return service_pack_bytes(pack, next(p for p in pack.packages if p.arch == arch))


def test_service_pack_installer_makes_the_host_sp1_at_its_next_boot() -> None:
    host = make("win7", 0, "x64")
    host.fs.write(SP1_X64, _service_pack("x64"))
    assert exit_code(host, [SP1_X64, "/quiet", "/norestart"]) == 3010
    assert (host.profile.version, host.profile.sp) == ("6.1.7600", 0) and host.pending_reboot() == ["cbs_reboot_pending"]
    assert exit_code(host, [SP1_X64, "/quiet", "/norestart"]) == 3010  # again while its restart is pending
    host.reboot()
    clock = host.clock
    assert isinstance(clock, ManualClock)
    clock.advance(host.reboot_downtime + 1)
    assert host.is_up() and host.pending_reboot() == []
    facts = host.facts()
    assert (facts["os"]["version"], facts["os"]["sp"], facts["os"]["csd_version"]) == ("6.1.7601", 1, "Service Pack 1")
    assert host.files[r"%SystemRoot%\System32\nsisvc.dll"] == "6.1.7601.17514"  # SP1's base revision
    assert host.files[r"%SystemRoot%\System32\nsi.dll"] == "6.1.7600.16385"  # SP1 did not rebuild it
    assert "KB976932" in {h["kb"] for h in facts["hotfixes"]}
    assert exit_code(host, [SP1_X64, "/quiet", "/norestart"]) == 0  # already installed
    assert host.counters.installs == 1


@pytest.mark.parametrize(("profile", "arch"), [(("win7", 1, "x64"), "x64"), (("win7", 0, "x64"), "x86")])
def test_service_pack_installer_not_applicable_to_another_arch_or_an_sp1_host(profile: tuple[str, int, str], arch: str) -> None:
    host = make(*profile)  # type: ignore[arg-type]
    host.fs.write(SP1_X64, _service_pack(arch))
    expected = installers.SUCCESS if profile[1] == 1 else installers.UPDATE_NOT_APPLICABLE
    assert exit_code(host, [SP1_X64, "/quiet", "/norestart"]) == expected
    assert host.counters.installs == 0
