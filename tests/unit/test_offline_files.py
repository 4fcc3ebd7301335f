"""The offline readers against hand-written fixtures: encodings, localized output, JSON, and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winremedy.errors import FactsError
from winremedy.audit.facts import HostFacts, Hotfix, OsInfo
from winremedy.offline import decode_text, parse_facts_text, read_facts_file, read_facts_files

DATA = Path(__file__).resolve().parents[1] / "data" / "offline"


def _one(path: Path) -> HostFacts:
    hosts = read_facts_file(path)
    assert len(hosts) == 1
    return hosts[0]


def _refusal(path: Path) -> str:
    with pytest.raises(FactsError) as caught:
        read_facts_files([path])
    message = str(caught.value)
    assert path.name in message and "\n" not in message
    return message


# --- encodings ---------------------------------------------------------------------------------------


def test_utf16le_with_bom() -> None:
    facts = _one(DATA / "win7_rtm_utf16le_bom_systeminfo.txt")
    assert facts.host == "LEGACY-WS01"
    assert facts.os == OsInfo(caption="Microsoft Windows 7 Professional", version="6.1.7600", sp=0, arch="x86",
                              product_type=1, csd_version=None)
    assert facts.boot_time == "2013-11-28T23:59:01"
    assert [fix.kb for fix in facts.hotfixes or []] == ["KB958488", "KB979223", "KB2847346"]


def test_utf16le_without_bom() -> None:
    facts = _one(DATA / "srv2008r2_rtm_utf16le_nobom_systeminfo.txt")
    assert facts.os is not None
    assert (facts.host, facts.os.version, facts.os.sp, facts.os.family) == ("LEGACY-SRV02", "6.1.7600", 0, "win2008r2")


@pytest.mark.parametrize("bom", [b"", b"\xfe\xff"])
def test_utf16be(bom: bytes) -> None:
    text = (DATA / "srv2008r2_rtm_utf16le_nobom_systeminfo.txt").read_bytes().decode("utf-16-le")
    assert decode_text(bom + text.encode("utf-16-be"), "be.txt") == text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_with_and_without_bom(encoding: str) -> None:
    text = "\r\nHost Name:                 ÜBER01\r\nOS Name:                   x\r\n"
    assert decode_text(text.encode(encoding), "u8.txt") == text


def test_oem_cp850_values_do_not_disturb_english_labels() -> None:
    facts = _one(DATA / "srv2003_dc_cp850_systeminfo.txt")
    assert facts.os is not None
    assert (facts.host, facts.os.version, facts.os.sp, facts.os.arch) == ("DC2003", "5.2.3790", 2, "x64")
    assert (facts.os.product_type, facts.os.family) == (2, "win2003")  # Primary Domain Controller
    assert [fix.kb for fix in facts.hotfixes or []] == [None, None, "KB903927", "KB968930"]
    assert facts.boot_time is None


def test_oem_bytes_decode_as_letters() -> None:
    text = decode_text((DATA / "srv2003_dc_cp850_systeminfo.txt").read_bytes(), "dc.txt")
    assert "Jürgen Müller" in text and "Société Générale" in text


def test_ascii_console_banner_before_utf16_stream() -> None:
    text = decode_text((DATA / "ws01_banner_qfe.txt").read_bytes(), "ws01_banner_qfe.txt")
    assert text.startswith("Please wait while WMIC is being installed.\r\n\r\nCaption")


def test_utf16_cut_in_the_middle_of_a_character() -> None:
    data = (DATA / "win7_rtm_utf16le_bom_systeminfo.txt").read_bytes()[:-1]
    with pytest.raises(FactsError, match=r"^cut\.txt: unreadable UTF-16-LE text"):
        decode_text(data, "cut.txt")


def test_control_characters_without_nul_are_refused() -> None:
    with pytest.raises(FactsError, match=r"^ctl\.bin: not a text file"):
        decode_text(bytes(range(1, 32)) * 20, "ctl.bin")


# --- localized output is read by its structure or refused, never misread --------------------------------
# (the complete localized captures are read in test_offline_realdata.py; these fixtures are abridged)


def test_abridged_french_systeminfo_from_cmd_is_refused() -> None:
    message = _refusal(DATA / "fr_systeminfo.txt")
    assert message.endswith(
        "fr_systeminfo.txt: localized systeminfo not read with certainty: 7 fields where the systeminfo layout has "
        "at least 32; the output is truncated or not systeminfo; collect facts over WinRM (winremedy audit) instead")


def test_abridged_german_systeminfo_from_powershell_is_refused() -> None:
    assert "localized systeminfo not read with certainty: 7 fields" in _refusal(DATA / "de_systeminfo.txt")


# --- wmic qfe ------------------------------------------------------------------------------------------


def test_2003_qfe_takes_the_kb_of_file_rows_from_service_pack_in_effect() -> None:
    facts = _one(DATA / "srv2003_file1_qfe.txt")
    assert (facts.host, facts.os, facts.source) == ("DC2003", None, "qfe")
    assert [(fix.id, fix.kb) for fix in facts.hotfixes or []] == [
        ("File 1", "KB903927"), ("File 1", None), ("Q147222", "KB147222"), ("KB968930", "KB968930")]


def test_qfe_after_wmic_banner() -> None:
    facts = _one(DATA / "ws01_banner_qfe.txt")
    assert facts.host == "legacy-ws01"
    assert [(fix.id, fix.kb, fix.installed_on) for fix in facts.hotfixes or []] == [
        ("KB2847346", "KB2847346", "01d4dfd0fb4eb361"),
        ("943729", "KB943729", "01d4dfb341273454"),
        ("{7A068575-C5DB-43D9-BE20-3895D0C69B17}", None, "20190321"),
    ]


def test_qfe_merges_into_systeminfo_whatever_the_case_of_the_host_name() -> None:
    hosts = read_facts_files([DATA / "ws01_banner_qfe.txt", DATA / "win7_rtm_utf16le_bom_systeminfo.txt"])
    assert len(hosts) == 1
    facts = hosts[0]
    assert (facts.host, facts.source) == ("LEGACY-WS01", "systeminfo")
    assert [fix.source for fix in facts.hotfixes or []] == ["systeminfo"] * 3 + ["qfe"] * 3
    assert [fix.installed_on for fix in facts.registered_kbs()["KB2847346"]] == [None, "01d4dfd0fb4eb361"]


def test_lone_qfe_files_of_one_host_become_one_host(tmp_path: Path) -> None:
    copy = tmp_path / "again_qfe.txt"
    copy.write_bytes((DATA / "ws01_banner_qfe.txt").read_bytes())
    hosts = read_facts_files([DATA / "ws01_banner_qfe.txt", copy])
    assert len(hosts) == 1 and hosts[0].os is None
    assert len(hosts[0].hotfixes or []) == 6


def test_qfe_with_two_systeminfo_of_its_host_is_ambiguous(tmp_path: Path) -> None:
    copy = tmp_path / "copy_systeminfo.txt"
    copy.write_bytes((DATA / "win7_rtm_utf16le_bom_systeminfo.txt").read_bytes())
    paths = [DATA / "win7_rtm_utf16le_bom_systeminfo.txt", copy, DATA / "ws01_banner_qfe.txt"]
    with pytest.raises(FactsError, match=r"copy_systeminfo\.txt: host 'LEGACY-WS01' also has systeminfo"):
        read_facts_files(paths)


def test_qfe_listing_of_several_hosts() -> None:
    header = "CSName  HotFixID   InstalledOn  "
    text = "\n".join([header, "HOSTA   KB2847346  1/2/2014     ", "HOSTB   KB979223   1/3/2014     ",
                      "hosta   KB976902   1/4/2014     "])
    hosts = parse_facts_text(text, "two.txt")
    assert [(facts.host, [fix.kb for fix in facts.hotfixes or []]) for facts in hosts] == [
        ("HOSTA", ["KB2847346", "KB976902"]), ("HOSTB", ["KB979223"])]


def test_garbled_qfe_is_refused() -> None:
    assert "line 3 does not line up with the wmic qfe header" in _refusal(DATA / "garbled_qfe.txt")


def test_qfe_without_csname_column_is_refused() -> None:
    with pytest.raises(FactsError, match=r"^ids\.txt: wmic qfe output lacks the 'CSName' column"):
        parse_facts_text("HotFixID   \nKB2847346  \n", "ids.txt")


def test_qfe_header_without_rows_is_refused() -> None:
    with pytest.raises(FactsError, match=r"^hdr\.txt: wmic qfe output has a header but no hotfix rows"):
        parse_facts_text("CSName  HotFixID\n\n", "hdr.txt")


# --- systeminfo edge cases -----------------------------------------------------------------------------


def _systeminfo(**overrides: str) -> str:
    values = {"Host Name": "H1", "OS Name": "Microsoft Windows 7 Enterprise ", "OS Version":
              "6.1.7601 Service Pack 1 Build 7601", "OS Configuration": "Member Workstation",
              "System Boot Time": "3/4/2019, 8:42:38 PM", "System Type": "x64-based PC",
              "Hotfix(s)": "1 Hotfix(s) Installed.", **overrides}
    lines = [f"{label + ':':<27}{value}" for label, value in values.items()]
    return "\r\n".join(["", *lines, " " * 27 + "[01]: KB976902", ""])


@pytest.mark.parametrize(("system_type", "arch"), [
    ("x64-based PC", "x64"), ("X86-based PC", "x86"), ("x86-based PC", "x86"),
    ("Itanium (TM) -based System", "ia64"), ("IA64-based PC", "ia64"), ("ARM64-based PC", None)])
def test_system_type(system_type: str, arch: str | None) -> None:
    facts = parse_facts_text(_systeminfo(**{"System Type": system_type}), "t.txt")[0]
    assert facts.os is not None and facts.os.arch == arch
    assert any("not a known architecture" in note for note in facts.notes) == (arch is None)


@pytest.mark.parametrize(("configuration", "product_type"), [
    ("Standalone Workstation", 1), ("Member Workstation", 1), ("Primary Domain Controller", 2),
    ("Backup Domain Controller", 2), ("Standalone Server", 3), ("Member Server", 3), ("Serveur autonome", None)])
def test_os_configuration(configuration: str, product_type: int | None) -> None:
    facts = parse_facts_text(_systeminfo(**{"OS Configuration": configuration}), "t.txt")[0]
    assert facts.os is not None and facts.os.product_type == product_type


def test_boot_time_is_read_as_written_in_the_host_local_time() -> None:
    facts = parse_facts_text(_systeminfo(), "t.txt")[0]
    assert facts.boot_time == "2019-03-04T20:42:38"


def test_boot_time_in_another_format_is_unknown_not_guessed() -> None:
    facts = parse_facts_text(_systeminfo(**{"System Boot Time": "15/03/2019, 08:51:26"}), "t.txt")[0]
    assert facts.boot_time is None
    assert any("not in the en-US form" in note for note in facts.notes)


def test_no_hotfixes() -> None:
    facts = parse_facts_text(_systeminfo(**{"Hotfix(s)": "N/A"}), "t.txt")[0]
    assert facts.hotfixes == []


def test_unreadable_os_version_is_refused() -> None:
    with pytest.raises(FactsError, match=r"^t\.txt: systeminfo 'OS Version' '6\.1' is not like"):
        parse_facts_text(_systeminfo(**{"OS Version": "6.1"}), "t.txt")


def test_label_twice_for_one_host_is_refused() -> None:
    text = _systeminfo() + "OS Name:                   Other\r\n"
    with pytest.raises(FactsError, match="label 'OS Name' appears twice"):
        parse_facts_text(text, "t.txt")


def test_truncated_systeminfo_is_refused() -> None:
    message = _refusal(DATA / "truncated_systeminfo.txt")
    assert "lacks 'System Type'" in message and "truncated" in message


def test_systeminfo_cut_before_host_name_is_called_truncated() -> None:
    text = "\r\n".join(_systeminfo().splitlines()[2:])
    with pytest.raises(FactsError, match=r"lacks 'Host Name'; the file looks truncated"):
        parse_facts_text(text, "t.txt")


# --- JSON facts ----------------------------------------------------------------------------------------


def _sample_facts(host: str) -> HostFacts:
    return HostFacts(host=host, os=OsInfo("Microsoft Windows 7 Enterprise", "6.1.7601", 1, "x64", 1,
                                          "Service Pack 1"),
                     source="winrm", hotfixes=[Hotfix(id="KB2847346", source="cbs", kb="KB2847346",
                                                      state="installed")],
                     files={"%SystemRoot%\\System32\\nsisvc.dll": "6.1.7601.22590"}, pending_reboot=[])


def test_json_object_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(_sample_facts("J1").to_dict()))
    assert read_facts_files([path]) == [_sample_facts("J1")]


def test_json_list_round_trip_in_utf16(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_bytes(json.dumps([_sample_facts("J1").to_dict(), _sample_facts("J2").to_dict()]).encode("utf-16"))
    assert [facts.host for facts in read_facts_files([path])] == ["J1", "J2"]


def test_json_with_unknown_key_names_file_and_key() -> None:
    message = _refusal(DATA / "unknown_key_facts.json")
    assert "unknown_key_facts.json: unknown key 'hostname'" in message


def test_json_list_error_names_the_item(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps([_sample_facts("J1").to_dict(), {"host": "J2"}]))
    assert "fleet.json[1]: missing key 'os'" in _refusal(path)


@pytest.mark.parametrize(("content", "expected"), [
    ("{\"host\": ", "not valid JSON (Expecting value at line 1 column 10)"),
    ("[]", "the JSON list holds no host facts"),
    ("[1]", "expected a JSON object with host facts, got int"),
])
def test_bad_json(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert expected in _refusal(path)


# --- files that are not facts at all -------------------------------------------------------------------


def test_empty_file_is_refused() -> None:
    assert "the file is empty" in _refusal(DATA / "empty.txt")


def test_blank_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(b"\xff\xfe" + "\r\n  \r\n".encode("utf-16-le"))
    assert "the file is empty" in _refusal(path)


def test_garbled_binary_is_refused() -> None:
    assert "is not UTF-16 text (binary data?)" in _refusal(DATA / "garbled.bin")


def test_unknown_text_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("remember to patch the servers\nnext tuesday\n")
    assert "notes.txt: unknown format; expected host facts JSON, systeminfo output" in _refusal(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert "cannot read the file (No such file or directory)" in _refusal(tmp_path / "absent.txt")


# --- nothing but FactsError, whatever the bytes ---------------------------------------------------------

_SEEDS = [b"", b"Host Name:  X\r\n", b"CSName  HotFixID\r\nH  KB1234567\r\n", b"{\"host\": \"h\", \"os\": null}",
          b"\xff\xfe", b"Hotfix(s):  N/A\r\nOS Version:  6.1\r\n"]


@settings(max_examples=300, deadline=None)
@given(prefix=st.sampled_from(_SEEDS), noise=st.binary(max_size=200))
def test_any_bytes_give_facts_or_a_facts_error(tmp_path_factory: pytest.TempPathFactory, prefix: bytes,
                                               noise: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "input.txt"
    path.write_bytes(prefix + noise)
    try:
        hosts = read_facts_files([path])
    except FactsError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
    else:
        assert all(isinstance(facts, HostFacts) for facts in hosts)
