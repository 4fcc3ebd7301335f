"""HostFacts: KB id normalisation, OS families, and the strict JSON round trip."""

import pytest

from winremedy.errors import FactsError
from winremedy.audit.facts import HostFacts, Hotfix, LeakVerdict, OsInfo, Sample, normalize_kb, os_family


@pytest.mark.parametrize(
    ("text", "kb"),
    [("KB2847346", "KB2847346"), ("kb979223", "KB979223"), ("943729", "KB943729"), ("Q147222", "KB147222"),
     ("KB975558_WM8", "KB975558"), ("KB968930 - Update", "KB968930"),
     ("Package_for_KB2847346_SP1~31bf3856ad364e35~amd64~~6.1.1.0", "KB2847346"),
     ("WindowsServer2003-KB903927-x86-ENU.exe", "KB903927"),
     ("File 1", None), ("{7A068575-C5DB-43D9-BE20-3895D0C69B17}", None), ("", None), ("KB12345", None)],
)
def test_normalize_kb(text, kb):
    assert normalize_kb(text) == kb


@pytest.mark.parametrize(
    ("version", "product_type", "family"),
    [("6.1.7601", 1, "win7"), ("6.1.7600", 3, "win2008r2"), ("6.1.7601", 2, "win2008r2"), ("6.0.6002", 1, "vista"),
     ("6.0.6001", 3, "win2008"), ("5.2.3790", 3, "win2003"), ("5.2.3790", 1, "winxp64"), ("6.1.7601", None, None),
     ("10.0.17763", 3, None)],
)
def test_os_family(version, product_type, family):
    assert os_family(version, product_type) == family


def _facts() -> HostFacts:
    return HostFacts(
        host="web01", os=OsInfo("Microsoft Windows 7 Enterprise ", "6.1.7601", 1, "x64", 1, "Service Pack 1"),
        files={"%SystemRoot%\\System32\\nsisvc.dll": "6.1.7601.22590", "%SystemRoot%\\SysWOW64\\nsi.dll": None},
        hotfixes=[Hotfix("KB2847346", "qfe"), Hotfix("File 1", "qfe", kb="KB903927")],
        samples={"nsi_private_bytes": [Sample(1.0, 2.0), Sample(2.0, 3.0)]},
        leaks={"nsi_private_bytes": LeakVerdict("nsi_private_bytes", True, 1e6, 0.9, 12, "rising")},
    )


def test_json_round_trip_keeps_everything():
    facts = _facts()
    assert HostFacts.from_dict(facts.to_dict()) == facts
    assert set(facts.registered_kbs()) == {"KB2847346", "KB903927"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(colour="red"), "unknown key 'colour'"),
        (lambda d: d["os"].update(version="6.1"), "os.version must look like 6.1.7601"),
        (lambda d: d["os"].update(arch="arm64"), "os.arch must be one of"),
        (lambda d: d["os"].update(sp="1"), "os.sp must be an integer"),
        (lambda d: d["os"].update(sp=True), "os.sp must be an integer, got True"),  # was printed "SPTrue"
        (lambda d: d.pop("host"), "missing key 'host'"),
        (lambda d: d["hotfixes"].append({"id": "KB1", "sourc": "qfe"}), "hotfixes: unknown key 'sourc'"),
        (lambda d: d["samples"].update(x=[[1, 2]]), "samples.x: expected an object"),
    ],
)
def test_bad_json_names_the_key(change, message):
    data = _facts().to_dict()
    change(data)
    with pytest.raises(FactsError, match=message) as caught:
        HostFacts.from_dict(data, origin="web01.json")
    assert str(caught.value).startswith("web01.json: ")


def test_not_an_object():
    with pytest.raises(FactsError, match="expected a JSON object"):
        HostFacts.from_dict([1, 2], origin="x.json")
