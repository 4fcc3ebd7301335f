"""Bad input on the command line, in an inventory, a fleet file or a manifest: one line naming it, exit 2.

Never a traceback, and nothing already saved is lost or left half-written. The hypothesis tests
drive each reader with malformed values; the named cases are the ones a test campaign found.
"""

from __future__ import annotations

import json
import shutil
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from winremedy.audit.results import HostResult, save_result
from winremedy.cli import main
from winremedy.errors import WinRemedyError
from winremedy.inventory import load_targets
from winremedy.lab.errors import LabError
from winremedy.lab.fleet import load_fleet
from winremedy.lab.packages import write_repository
from winremedy.repo.manifest import MANIFEST, Entry, load_manifest
from winremedy.remediate.stage import open_source, preflight

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# An address in TEST-NET-1 (RFC 5737): never reached, because every case here fails before connecting.
INVENTORY = "[web]\nweb01 ansible_host=192.0.2.1\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``winremedy ARGV`` in this process: exit code and stderr (argparse's exits included)."""
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def error_line(err: str) -> str:
    """The one error line (argparse prints its usage first: "usage: ..." and indented continuation lines)."""
    lines = [line for line in err.splitlines() if line.startswith("winremedy")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def inventory(tmp_path: Path) -> str:
    path = tmp_path / "hosts.ini"
    path.write_text(INVENTORY)
    return str(path)


@pytest.fixture
def saved(tmp_path: Path) -> Iterator[Path]:
    """An --out directory holding one earlier result, which no failing command may touch."""
    out = tmp_path / "out"
    path = save_result(out, HostResult(host="earlier", reachable=False, error="earlier: down"))
    before = path.read_bytes()
    yield out
    assert path.read_bytes() == before
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


# --- the cases the campaign found ---------------------------------------------------------------------


def test_out_that_is_a_file_fails_before_any_host_is_audited(tmp_path: Path, inventory: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    out.write_text("keep me")
    code, err = run(["audit", "-i", inventory, "--out", str(out)], capsys)
    assert code == 2 and error_line(err) == f"winremedy: error: --out {out}: exists and is not a directory"
    assert out.read_text() == "keep me"


@pytest.mark.parametrize("command", ["audit", "remediate"])
def test_out_where_nothing_can_be_written(inventory: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run([command, "-i", inventory, "--out", "/proc/1/x", "--repo", "/nonexistent"][: 5 if command == "audit" else 7], capsys)
    assert code == 2 and error_line(err).startswith("winremedy: error: --out /proc/1/x: cannot write there")


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "-inf", "1e999", "soon"])
def test_interval_must_be_finite_and_not_negative(inventory: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["audit", "-i", inventory, f"--interval={value}"], capsys)
    assert code == 2 and "argument --interval: expected a finite number of seconds, 0 or more" in error_line(err)


@pytest.mark.parametrize("limit", ["!", "&", "web01:!", ":&"])
def test_a_limit_with_an_empty_term(inventory: str, limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["audit", "-i", inventory, "-l", limit], capsys)
    assert code == 2 and error_line(err).startswith(f"winremedy: error: limit {limit!r}: a term is empty")


@pytest.mark.parametrize("url", ["http://[::1/", "http://dist 01/", "http://admin:s3cret@[::1/", "ftp://dist01/"])
def test_a_bad_repo_url(tmp_path: Path, inventory: str, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    write_repository(repo)
    code, err = run(["remediate", "-i", inventory, "--check", "--repo", str(repo), "--repo-url", url], capsys)
    assert code == 2 and error_line(err).startswith("winremedy: error: ") and "s3cret" not in err


def test_a_binary_fleet_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = tmp_path / "fleet.yml"
    fleet.write_bytes(bytes(range(256)))
    code, err = run(["lab", "up", "--dir", str(tmp_path / "lab"), "--fleet", str(fleet)], capsys)
    assert code == 2 and error_line(err).endswith(f"{fleet}: not a fleet file (not UTF-8 text)")


def test_an_infinite_time_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = tmp_path / "fleet.yml"
    fleet.write_text("time_scale: .inf\ncredentials: {user: a, password: b}\nhosts: [{name: w1, os: win7, sp: 1, arch: x64}]\n")
    code, err = run(["lab", "up", "--dir", str(tmp_path / "lab"), "--fleet", str(fleet)], capsys)
    assert code == 2 and "key 'time_scale': expected a positive finite number, got inf" in error_line(err)
    code, err = run(["lab", "up", "--dir", str(tmp_path / "lab"), "--hosts", "1", "--time-scale", "inf"], capsys)
    assert code == 2 and "argument --time-scale" in error_line(err)


def test_a_deeply_nested_manifest(tmp_path: Path, inventory: str, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    code, err = run(["remediate", "-i", inventory, "--check", "--repo", str(repo)], capsys)
    assert code == 2 and error_line(err).endswith("unreadable manifest (nested too deeply)")
    code, err = run(["repo", "list", "--repo", str(repo)], capsys)
    assert code == 2 and error_line(err).endswith("unreadable manifest (nested too deeply)")


# --- fuzz ---------------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
NUMBERISH = st.one_of(TEXT, st.sampled_from(["-1", "0", "nan", "inf", "-inf", "1e999", "0x10", "", " ", "1_000"]),
                      st.floats().map(str), st.integers().map(str))


@FUZZ
@given(option=st.sampled_from(["--forks", "--samples", "--interval", "--limit", "--kb", "--format"]), value=NUMBERISH)
def test_fuzz_audit_arguments(saved: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["audit", "-i", str(saved / "no-such-inventory"), "--out", str(saved), option + "=" + value], capsys)
    assert code == 2
    line = error_line(err)
    assert option in line or "no-such-inventory" in line or (option == "--kb" and "unknown KB" in line)


@FUZZ
@given(option=st.sampled_from(["--forks", "--serial", "--max-fail-percentage", "--verify-samples", "--verify-interval",
                               "--install-timeout", "--reboot-timeout", "--poll", "--repo-url", "--reboot", "--kb"]),
       value=NUMBERISH)
def test_fuzz_remediate_arguments(saved: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["remediate", "-i", str(saved / "no-such-inventory"), "--repo", str(saved / "no-repo"),
                     "--out", str(saved), option + "=" + value], capsys)
    assert code == 2
    error_line(err)


SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                     max_leaves=6)
CONNECTION_VARS = st.sampled_from([
    "ansible_port", "ansible_host", "ansible_user", "ansible_password", "ansible_winrm_transport",
    "ansible_winrm_scheme", "ansible_winrm_message_encryption", "ansible_winrm_server_cert_validation",
    "ansible_winrm_connection_timeout", "ansible_winrm_read_timeout_sec", "ansible_winrm_send_cbt",
    "winremedy_retries", "winremedy_backoff", "winremedy_allow_unencrypted", "ansible_winrm_pass",
])


@FUZZ
@given(variables=st.dictionaries(CONNECTION_VARS, VALUE, min_size=1, max_size=4))
def test_fuzz_inventory_connection_variables(tmp_path: Path, variables: dict[str, object]) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"bad01": variables, "good01": {"ansible_host": "192.0.2.2"}}}}))
    try:
        targets = {t.name: t for t in load_targets([str(inventory)])}
    except WinRemedyError as error:  # e.g. a value Ansible itself cannot template
        assert "\n" not in str(error)
        return
    bad, good = targets["bad01"], targets["good01"]
    assert good.error is None and good.winrm_options().address == "192.0.2.2"
    if bad.error is not None:
        assert bad.error.startswith(("bad01: ", "host bad01: ")) and "\n" not in bad.error
        secret = variables.get("ansible_password", variables.get("ansible_winrm_pass"))
        others = [str(value) for name, value in variables.items() if name not in ("ansible_password", "ansible_winrm_pass")]
        shown_elsewhere = any(str(secret) in other for other in others)  # another variable may hold the same text
        if isinstance(secret, (list, dict)) and str(secret) not in ("[]", "{}") and not shown_elsewhere:
            assert str(secret) not in bad.error


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), VALUE.map(lambda v: yaml.safe_dump(v).encode()),
                      st.fixed_dictionaries({"hosts": st.lists(st.dictionaries(
                          st.sampled_from(["name", "os", "sp", "arch", "leak", "faults", "auth", "credentials"]),
                          VALUE, max_size=6), min_size=1, max_size=2)},
                          optional={"time_scale": VALUE, "allow_unencrypted": VALUE}).map(
                          lambda v: yaml.safe_dump(v).encode())))
def test_fuzz_fleet_files(tmp_path: Path, data: bytes) -> None:
    fleet = tmp_path / "fleet.yml"
    fleet.write_bytes(data)
    try:
        load_fleet(fleet)
    except LabError as error:
        assert str(error).startswith(f"{fleet}") and "\n" not in str(error)


ENTRY_KEYS = ("file", "kb", "kind", "arch", "os", "builds", "size", "sha256")  # identity: what the content said, informative


@pytest.fixture(scope="module")
def lab_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("lab-repo")
    write_repository(repo)
    return repo


@FUZZ
@given(index=st.integers(0, 9), key=st.sampled_from(ENTRY_KEYS), value=VALUE)
def test_fuzz_manifest_entries(lab_repo: Path, tmp_path_factory: pytest.TempPathFactory, index: int, key: str,
                               value: object) -> None:
    repo = tmp_path_factory.mktemp("repo") / "repo"
    shutil.copytree(lab_repo, repo)
    data = json.loads((repo / MANIFEST).read_text())
    data["packages"][index][key] = value
    (repo / MANIFEST).write_text(json.dumps(data))
    try:
        source, manifest = open_source(repo=repo)
    except WinRemedyError as error:
        assert str(error).startswith(str(repo)) and "\n" not in str(error)
        return
    edited = manifest.entries[index] if len(manifest.entries) > index else None
    if edited is not None and edited.to_dict() != Entry.from_dict(json.loads((lab_repo / MANIFEST).read_text())["packages"][index]).to_dict():
        with pytest.raises(WinRemedyError) as caught:  # an edited entry never reaches a plan
            preflight(source, edited)
        assert "\n" not in str(caught.value)


@FUZZ
@given(text=st.text(string.printable, max_size=60))
def test_fuzz_manifest_text(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    repo = tmp_path_factory.mktemp("repo")
    (repo / MANIFEST).write_text(text)
    try:
        load_manifest(repo)
    except WinRemedyError as error:
        assert "\n" not in str(error)
