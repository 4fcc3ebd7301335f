"""The offline readers against real systeminfo / wmic qfe captures (WES-NG validation data, BSD-3-Clause)."""

from __future__ import annotations

from pathlib import Path

import pytest

from winremedy.audit.facts import HostFacts
from winremedy.errors import FactsError
from winremedy.offline import read_facts_file, read_facts_files

REALDATA = Path(__file__).resolve().parents[1] / "data" / "realdata" / "wesng"  # sources and licence: README.md there
CAPTURES = sorted(path for path in REALDATA.glob("*.txt") if path.name != "LICENSE.txt")
# Every systeminfo capture: (host, OS version, SP, arch, family, hotfix rows read), or the reason it is refused.
# Localized ones (it, es, zh-cn in GBK, ru in UTF-8) are read by field position and value shape.
EXPECTED = {
    "10_1803_x64_enterprise_es-ar_20190307_systeminfo.txt": "lacks 'Host Name'; the file looks truncated",
    "10_1803_x64_pro_it_systeminfo.txt": ("PC044", "10.0.17134", 0, "x64", None, 10),
    "10_1803_x86_enterprise_nl_systeminfo.txt": ("DESKTOP-LFQSJM4", "10.0.17134", 0, "x86", None, 4),
    "10_1809_x64_education_es_systeminfo.txt": "the first field '...' is not a host name",
    "10_1809_x64_enterprise_zh-cn_systeminfo.txt": ("DESKTOP-0CQH3P2", "10.0.17763", 0, "x64", None, 1),
    "7_sp1_x64_enterprise_en-us_B_systeminfo.txt": ("WIN7SP1X64", "6.1.7601", 1, "x64", "win7", 245),
    "srv_2003_rtm_x86_standard_en-us_systeminfo.txt": ("WINSRV2K3SP0X86", "5.2.3790", 0, "x86", "win2003", 3),
    "srv_2003r2_sp2_x86_standard_en-us_systeminfo.txt": ("SRV2K3R2SP2X86", "5.2.3790", 2, "x86", "win2003", 240),
    "srv_2008_rtm_x64_standard_en-us_systeminfo.txt": ("SRV2K8SP0X64", "6.0.6001", 1, "x64", "win2008", 1),
    "srv_2008r2_sp1_x64_standard_en-us_systeminfo.txt": ("SRV2K8R2SP1X64", "6.1.7601", 1, "x64", "win2008r2", 2),
    "srv_2012r2_x64_standard_ru_systeminfo.txt": ("DC", "6.3.9600", 0, "x64", None, 7),
    "vista_x64_sp2_systeminfo.txt": ("WINVISTASP0X64", "6.0.6002", 2, "x64", "vista", 175),
    # XP x64 reports 5.2.3790 like Server 2003 x64; its product type (workstation) keeps it apart
    "xp_sp2_x64_systeminfo.txt": ("USER-8CEF73C787", "5.2.3790", 2, "x64", "winxp64", 228),
}


def _one(name: str) -> HostFacts:
    hosts = read_facts_file(REALDATA / name)
    assert len(hosts) == 1
    return hosts[0]


def _kbs(facts: HostFacts) -> set[str]:
    return {fix.kb for fix in facts.hotfixes or [] if fix.kb}


def test_win7_sp1_x64_systeminfo() -> None:
    facts = _one("7_sp1_x64_enterprise_en-us_B_systeminfo.txt")
    assert facts.host == "WIN7SP1X64"
    assert facts.source == "systeminfo"
    assert facts.os is not None
    assert (facts.os.version, facts.os.sp, facts.os.arch, facts.os.product_type) == ("6.1.7601", 1, "x64", 1)
    assert facts.os.family == "win7"
    assert facts.os.caption == "Microsoft Windows 7 Enterprise"
    assert facts.os.csd_version == "Service Pack 1"
    assert facts.boot_time == "2019-03-15T08:51:26"


def test_win7_systeminfo_lists_271_hotfixes_but_shows_245() -> None:
    facts = _one("7_sp1_x64_enterprise_en-us_B_systeminfo.txt")
    assert facts.hotfixes is not None
    assert len(facts.hotfixes) == 245  # [01]..[245]; the empty "[246]" ends the truncated list
    assert facts.hotfixes[0].id == "KB2849697"
    assert facts.hotfixes[-1].id == "KB3127220"
    assert all(fix.source == "systeminfo" and fix.kb == fix.id for fix in facts.hotfixes)
    assert any("lists 271 hotfixes but shows 245" in note for note in facts.notes)


def test_systeminfo_leaves_uncollected_fields_none() -> None:
    facts = _one("7_sp1_x64_enterprise_en-us_B_systeminfo.txt")
    assert (facts.files, facts.products, facts.registry, facts.pending_reboot) == (None, None, None, None)


def test_boot_time_note_says_local_time_zone() -> None:
    facts = _one("srv_2008_rtm_x64_standard_en-us_systeminfo.txt")
    assert facts.boot_time == "2019-03-04T08:42:38"
    assert any("local time" in note and "(GMT+01:00) Amsterdam" in note for note in facts.notes)


def test_server_2003_r2_sp2_x86_systeminfo() -> None:
    facts = _one("srv_2003r2_sp2_x86_standard_en-us_systeminfo.txt")
    assert facts.os is not None
    assert (facts.os.version, facts.os.sp, facts.os.arch, facts.os.product_type) == ("5.2.3790", 2, "x86", 3)
    assert facts.os.family == "win2003"
    assert facts.boot_time is None
    assert any("uptime" in note for note in facts.notes)


def test_server_2003_hotfix_rows() -> None:
    facts = _one("srv_2003r2_sp2_x86_standard_en-us_systeminfo.txt")
    hotfixes = facts.hotfixes or []
    assert len(hotfixes) == 240  # lists 352, shows [01]..[240]
    assert any("lists 352 hotfixes but shows 240" in note for note in facts.notes)
    file_rows = [fix for fix in hotfixes if fix.id == "File 1"]
    assert len(file_rows) == 170
    assert all(fix.kb is None for fix in file_rows)
    by_id = {fix.id: fix.kb for fix in hotfixes}
    assert by_id["KB968930 - Update"] == "KB968930"
    assert by_id["KB975558_WM8"] == "KB975558"
    assert by_id["KB2536276-v2 - Update"] == "KB2536276"
    assert by_id["Q147222"] == "KB147222"
    assert by_id["KB2862"] is None  # the last row, cut short by systeminfo
    assert "KB968930" in _kbs(facts)


def test_server_2008_rtm_reports_sp1() -> None:
    facts = _one("srv_2008_rtm_x64_standard_en-us_systeminfo.txt")
    assert facts.os is not None
    assert (facts.os.version, facts.os.sp, facts.os.arch, facts.os.family) == ("6.0.6001", 1, "x64", "win2008")
    assert facts.os.caption == "Microsoftr Windows Serverr 2008 Standard"
    assert [fix.kb for fix in facts.hotfixes or []] == ["KB956250"]


def test_server_2008_r2_sp1() -> None:
    facts = _one("srv_2008r2_sp1_x64_standard_en-us_systeminfo.txt")
    assert facts.os is not None
    assert (facts.os.version, facts.os.sp, facts.os.arch, facts.os.family) == ("6.1.7601", 1, "x64", "win2008r2")
    assert [fix.kb for fix in facts.hotfixes or []] == ["KB958488", "KB976902"]
    assert not any("hotfixes but shows" in note for note in facts.notes)


def test_vista_sp2_systeminfo() -> None:
    facts = _one("vista_x64_sp2_systeminfo.txt")
    assert facts.os is not None
    assert (facts.os.version, facts.os.sp, facts.os.arch, facts.os.family) == ("6.0.6002", 2, "x64", "vista")
    hotfixes = facts.hotfixes or []
    assert len(hotfixes) == 175
    guid = hotfixes[0]
    assert guid.id == "{7A068575-C5DB-43D9-BE20-3895D0C69B17}" and guid.kb is None
    assert {fix.id: fix.kb for fix in hotfixes}["943729"] == "KB943729"


def test_win7_qfe() -> None:
    facts = _one("7_sp1_x64_enterprise_en-us_B_qfe.txt")
    assert (facts.host, facts.os, facts.source) == ("WIN7SP1X64", None, "qfe")
    hotfixes = facts.hotfixes or []
    assert len(hotfixes) == 271
    assert all(fix.source == "qfe" and fix.kb == fix.id for fix in hotfixes)
    assert (hotfixes[0].id, hotfixes[0].installed_on) == ("KB2849697", "5/22/2015")
    assert (hotfixes[-1].id, hotfixes[-1].installed_on) == ("KB4467107", "11/14/2018")
    assert {"KB976902", "KB3020369"} <= _kbs(facts)
    assert any("OS unknown" in note and "systeminfo" in note for note in facts.notes)


def test_vista_qfe() -> None:
    facts = _one("vista_x64_sp2_qfe.txt")
    assert (facts.host, facts.os) == ("WINVISTASP0X64", None)
    hotfixes = facts.hotfixes or []
    assert len(hotfixes) == 175
    assert [fix.id for fix in hotfixes if not fix.id.startswith("KB")] == [
        "{7A068575-C5DB-43D9-BE20-3895D0C69B17}", "943729", "940157"]
    by_id = {fix.id: fix for fix in hotfixes}
    assert by_id["{7A068575-C5DB-43D9-BE20-3895D0C69B17}"].kb is None
    assert by_id["943729"].kb == "KB943729"
    assert by_id["KB937286"].installed_on == "01d4dfd0fb4eb361"  # hex FILETIME, kept as text
    assert "KB968930" in _kbs(facts)


def test_vista_systeminfo_and_qfe_agree_on_kbs() -> None:
    assert _kbs(_one("vista_x64_sp2_systeminfo.txt")) == _kbs(_one("vista_x64_sp2_qfe.txt"))


@pytest.mark.parametrize("order", [("systeminfo", "qfe"), ("qfe", "systeminfo")])
def test_win7_systeminfo_and_qfe_merge_into_one_host(order: tuple[str, str]) -> None:
    paths = [REALDATA / f"7_sp1_x64_enterprise_en-us_B_{kind}.txt" for kind in order]
    hosts = read_facts_files(paths)
    assert len(hosts) == 1
    facts = hosts[0]
    assert (facts.host, facts.source) == ("WIN7SP1X64", "systeminfo")
    assert facts.os is not None and facts.os.family == "win7"
    hotfixes = facts.hotfixes or []
    assert sum(fix.source == "systeminfo" for fix in hotfixes) == 245
    assert sum(fix.source == "qfe" for fix in hotfixes) == 271
    assert "KB4467107" in facts.registered_kbs()  # only in the qfe listing: systeminfo cut its list
    assert any("271 hotfixes added from the wmic qfe listing" in note for note in facts.notes)
    assert not any("OS unknown" in note for note in facts.notes)


def test_hosts_of_several_files_keep_file_order() -> None:
    names = ["vista_x64_sp2_qfe.txt", "srv_2008r2_sp1_x64_standard_en-us_systeminfo.txt",
             "vista_x64_sp2_systeminfo.txt"]
    hosts = read_facts_files([REALDATA / name for name in names])
    assert [facts.host for facts in hosts] == ["SRV2K8R2SP1X64", "WINVISTASP0X64"]
    assert len(hosts[1].hotfixes or []) == 350


def test_concatenated_systeminfo_outputs_give_one_host_each(tmp_path: Path) -> None:
    names = ["srv_2008_rtm_x64_standard_en-us_systeminfo.txt", "srv_2008r2_sp1_x64_standard_en-us_systeminfo.txt"]
    joined = tmp_path / "all_systeminfo.txt"
    joined.write_bytes(b"".join((REALDATA / name).read_bytes() for name in names))
    assert [facts.host for facts in read_facts_file(joined)] == ["SRV2K8SP0X64", "SRV2K8R2SP1X64"]


def test_every_wesng_capture_is_here() -> None:
    assert len(CAPTURES) == 16  # every capture of the copied folder
    assert (REALDATA / "LICENSE.txt").read_text(encoding="utf-8").startswith("Copyright 2019 Arris Huijgen")


@pytest.mark.parametrize("path", CAPTURES, ids=[path.stem for path in CAPTURES])
def test_every_capture_gives_hosts_or_one_line_error_naming_the_file(path: Path) -> None:
    """Localized and unusual captures may be refused, but only with a FactsError, never a crash."""
    try:
        hosts = read_facts_file(path)
    except FactsError as error:
        assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
    else:
        assert hosts and all(facts.host and facts.hotfixes is not None for facts in hosts)


def test_every_capture_is_in_the_table() -> None:
    assert set(EXPECTED) == {p.name for p in REALDATA.glob("*systeminfo.txt")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_capture_is_read_right_or_refused_with_the_reason(name: str) -> None:
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(FactsError) as refused:
            read_facts_file(REALDATA / name)
        assert str(refused.value).startswith(f"{REALDATA / name}: ") and expected in str(refused.value)
        return
    facts = _one(name)
    assert facts.os is not None
    read = (facts.host, facts.os.version, facts.os.sp, facts.os.arch, facts.os.family, len(facts.hotfixes or []))
    assert read == expected


def test_localized_hotfix_rows_and_counts() -> None:
    russian = _one("srv_2012r2_x64_standard_ru_systeminfo.txt")
    assert russian.os is not None and russian.os.product_type == 3  # "Windows Server" in the edition name
    assert "KB2919355" in _kbs(russian) and russian.hotfixes_incomplete is None
    assert any("read by field position" in note for note in russian.notes)
    italian = _one("10_1803_x64_pro_it_systeminfo.txt")
    assert italian.os is not None and (italian.os.caption, italian.os.product_type) == ("Microsoft Windows 10 Pro", 1)


@pytest.mark.parametrize(("change", "reason"), [
    (lambda t: t.replace("10.0.17134 N/D build 17134", "10.0.17134 N/D build 17135"), "is not an OS version"),
    (lambda t: t.replace("x64-based PC", "PC basato su x64"), "is not a system type"),
    (lambda t: t.replace("10 Aggiornamenti rapidi installati.", "Aggiornamenti rapidi installati."),
     "hotfixes (field 31)"),
    # a field missing shifts every later one: the shapes no longer fit, the file is refused
    (lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("Produttore SO")),
     "field 14 '1 processore(i) installati.' is not a system type"),
])
def test_localized_doubt_refuses(tmp_path: Path, change, reason: str) -> None:
    text = (REALDATA / "10_1803_x64_pro_it_systeminfo.txt").read_bytes().decode("cp850")
    path = tmp_path / "it_systeminfo.txt"
    path.write_bytes(change(text).encode("cp850"))
    with pytest.raises(FactsError, match="localized systeminfo not read with certainty") as refused:
        read_facts_file(path)
    assert reason in str(refused.value)


def test_localized_service_pack_contradicting_the_build_refuses(tmp_path: Path) -> None:
    text = (REALDATA / "srv_2012r2_x64_standard_ru_systeminfo.txt").read_text(encoding="utf-8")
    version = next(line for line in text.splitlines() if "6.3.9600" in line)
    path = tmp_path / "ru_systeminfo.txt"
    path.write_text(text.replace(version, version.replace("6.3.9600", "6.1.7601").replace("9600", "7601")),
                    encoding="utf-8")
    with pytest.raises(FactsError, match="reads as SP0, which build 6.1.7601 never is"):
        read_facts_file(path)
