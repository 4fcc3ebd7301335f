"""Quality gates of the collection winremedy.windows, and the inventories and scale-out it documents.

Every gate runs on what users get: the tarball ``ansible-galaxy collection build`` makes from this
checkout, installed with ``ansible-galaxy collection install --offline`` into a temporary collections
path. Nothing is downloaded while these tests run: ansible-lint runs ``--offline`` with HTTP(S) routed
to a closed port; ansible-test sanity runs through tests/sanity/sanity.py (its environments are made
beforehand by ``sanity.py prime``, which .ci/run does; without them the test skips, and fails under CI).

Every module, action plugin and playbook found is checked, not a list: new ones must pass the same gates.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from labcli import running_lab, winremedy

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLOSED_PORT = "http://127.0.0.1:9"
LOOPBACK = "127.0.0.1,localhost"  # the lab: not a download
OFFLINE = {"HTTP_PROXY": CLOSED_PORT, "HTTPS_PROXY": CLOSED_PORT, "http_proxy": CLOSED_PORT,
           "https_proxy": CLOSED_PORT, "NO_PROXY": LOOPBACK, "no_proxy": LOOPBACK, "PIP_NO_INDEX": "1"}
# What the tarball may hold at its top level; anything else is a build artefact or a file that belongs elsewhere.
TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "COPYING", "CHANGELOG.rst", "meta", "plugins",
             "playbooks", "roles", "docs", "changelogs"}
ARTEFACTS = {"__pycache__", ".venv", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
             "winremedy-demo", "winremedy-report", "build", "dist", "src", "tests", "bench", "molecule", "inventories"}
EXAMPLE = REPO / "inventories" / "example"
EXAMPLE_VAULT_PASSWORD = "winremedy-example"  # inventories/example/README.md: the placeholders' password


def _run(tool: str, *args: str, env: dict[str, str], cwd: Path, timeout: float = 300
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def _modules() -> list[str]:
    return sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ansible-galaxy collection build`` of this checkout, as a release is built."""
    out = tmp_path_factory.mktemp("build")
    run = _run("ansible-galaxy", "collection", "build", "--output-path", str(out), str(REPO),
               env={**os.environ, **OFFLINE}, cwd=out)
    assert run.returncode == 0, run.stderr
    (built,) = out.glob("winremedy-windows-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def installed(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a controller with the built collection installed (and nothing else on the path)."""
    root = tmp_path_factory.mktemp("installed")
    env = {**os.environ, **OFFLINE, "ANSIBLE_COLLECTIONS_PATH": str(root), "ANSIBLE_HOME": str(root / "home"),
           "ANSIBLE_LOCAL_TEMP": str(root / "tmp"), "ANSIBLE_NOCOLOR": "1", "XDG_CACHE_HOME": str(root / "cache"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = _run("ansible-galaxy", "collection", "install", "--offline", "--force", "-p", str(root), str(tarball),
               env=env, cwd=root)
    assert run.returncode == 0, run.stdout + run.stderr
    return env


# --- the tarball -----------------------------------------------------------------------------------


def test_the_tarball_holds_the_collection_and_no_build_artefact(tarball: Path) -> None:
    with tarfile.open(tarball) as archive:
        members = [PurePosixPath(m.name) for m in archive.getmembers()]
    strays = [str(m) for m in members if m.parts[0] not in TOP_LEVEL]
    artefacts = [str(m) for m in members
                 if set(m.parts) & ARTEFACTS or m.suffix in (".pyc", ".pyo") or m.name.startswith(".")
                 or any(part.endswith(".egg-info") for part in m.parts)]
    assert not strays and not artefacts, f"not collection content: {strays + artefacts}"
    names = {str(m) for m in members}
    wanted = {str(p.relative_to(REPO)) for pattern in ("plugins/*/*.py", "playbooks/*.yml", "meta/*.yml")
              for p in REPO.glob(pattern)}
    assert wanted and wanted <= names, f"missing from the tarball: {sorted(wanted - names)}"


# --- ansible-doc -----------------------------------------------------------------------------------


def test_ansible_doc_renders_every_module_with_examples_and_return_values(installed: dict[str, str],
                                                                          tmp_path: Path) -> None:
    modules = _modules()
    actions = sorted(p.stem for p in (REPO / "plugins" / "action").glob("*.py") if not p.name.startswith("_"))
    assert "kb_facts" in modules and set(actions) <= set(modules), "every action plugin has its documentation"
    run = _run("ansible-doc", "-t", "module", *(f"winremedy.windows.{m}" for m in modules), env=installed, cwd=tmp_path)
    assert run.returncode == 0 and "[WARNING]" not in run.stderr and "[ERROR]" not in run.stderr, run.stderr
    pages = run.stdout.split("> MODULE ")[1:]
    assert [page.split()[0] for page in pages] == [f"winremedy.windows.{m}" for m in modules]
    for page in pages:
        for section in ("OPTIONS", "EXAMPLES:", "RETURN VALUES:", "AUTHOR:"):
            assert f"\n{section}" in page, f"{page.split()[0]}: no {section}"
        examples = page.split("\nEXAMPLES:")[1].split("\nRETURN VALUES:")[0]
        assert page.split()[0] in examples, f"{page.split()[0]}: the examples do not call the module by its FQCN"


# --- ansible-lint ----------------------------------------------------------------------------------


def _lint(paths: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """ansible-lint with the production profile, offline: it installs nothing and refreshes no schema."""
    return _run("ansible-lint", "--offline", "--profile", "production", "--nocolor", "-f", "pep8",
                *paths, env=env, cwd=cwd, timeout=300)


def test_ansible_lint_production_profile_passes_on_playbooks_and_roles(installed: dict[str, str]) -> None:
    """Playbooks, roles and molecule scenarios, and execution-environment.yml against ansible-builder's schema."""
    paths = [name for name in ("playbooks", "roles", "molecule", "execution-environment.yml") if (REPO / name).exists()]
    run = _lint(paths, installed, REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Profile 'production' was required, and it passed" in run.stderr
    assert not (REPO / ".ansible").exists(), "ansible-lint left a cache in the checkout"


def test_ansible_lint_gate_catches_a_bad_playbook(installed: dict[str, str], tmp_path: Path) -> None:
    """The same invocation fails on a playbook that breaks production rules: the gate is not vacuous."""
    (tmp_path / "bad.yml").write_text(
        "- hosts: all\n  tasks:\n    - command: hostname\n    - winremedy.windows.kb_facts:\n        kbz: [1]\n")
    run = _lint(["bad.yml"], installed, tmp_path)
    assert run.returncode != 0
    for rule in ("name[play]", "name[missing]", "fqcn[action-core]"):
        assert rule in run.stdout, run.stdout


# --- ansible-test sanity ---------------------------------------------------------------------------


def test_ansible_test_sanity_passes_offline() -> None:
    """Every sanity test but pslint (needs pwsh) and shellcheck (no shell script): see tests/sanity/sanity.py."""
    run = subprocess.run([sys.executable, str(REPO / "tests" / "sanity" / "sanity.py"), "run"], capture_output=True,
                         text=True, timeout=600)
    if run.returncode == 3 and not os.environ.get("CI"):
        pytest.skip(f"{run.stderr.strip()} (CI primes them in .ci/run)")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    for test in ("validate-modules", "pylint", "pep8", "import", "ansible-doc", "yamllint", "runtime-metadata"):
        assert f'Running sanity test "{test}"' in run.stdout


# --- inventories -----------------------------------------------------------------------------------


def test_the_example_inventory_lists_without_the_vault_password(installed: dict[str, str], tmp_path: Path) -> None:
    run = _run("ansible-inventory", "-i", str(EXAMPLE), "--list", env=installed, cwd=tmp_path)
    assert run.returncode == 0 and "[WARNING]" not in run.stderr, run.stderr
    listed = json.loads(run.stdout)
    hostvars = listed["_meta"]["hostvars"]
    assert len(hostvars) == 14
    for group in ("site_fra", "site_fra_dmz", "site_chi", "win2003", "win2008", "win2008r2", "vista", "win7",
                  "ad_corp"):
        assert listed[group].get("hosts") or listed[group].get("children"), group
    for name, variables in hostvars.items():
        assert variables["ansible_winrm_scheme"] == "https" and variables["ansible_port"] == 5986, name
        assert variables["ansible_winrm_server_cert_validation"] == "validate", name
        assert variables["winremedy_maintenance_window"] and variables["winremedy_maintenance_timezone"], name
        assert variables["winremedy_repo"].startswith("https://"), name
        assert variables["ansible_password"].startswith("{{ vault_"), name  # a template, decrypted on use only


def test_the_example_inventory_loads_with_winremedys_loader(tmp_path: Path) -> None:
    """Targets as ``winremedy audit`` sees them: Kerberos in the domain, NTLM in the DMZ, the vaulted passwords."""
    from winremedy.errors import InventoryError
    from winremedy.inventory import load_targets
    from winremedy.remediate.window import window_from_hostvars

    with pytest.raises(InventoryError, match="no vault secrets"):
        load_targets([str(EXAMPLE)])
    password = tmp_path / "vault-password"
    password.write_text(EXAMPLE_VAULT_PASSWORD)
    targets = {t.name: t for t in load_targets([str(EXAMPLE)], vault_password_files=[str(password)])}
    assert len(targets) == 14
    for target in targets.values():
        assert not target.warnings, target.warnings
        assert target.options.password == "CHANGE-ME" and target.options.scheme == "https"
        assert target.options.server_cert_validation == "validate"
        window = window_from_hostvars(target.hostvars, target.name)
        assert window is not None, target.name
        domain = "ad_corp" in target.groups
        assert (target.options.transport, target.options.user) == (
            ("kerberos", "svc-winremedy@CORP.EXAMPLE.NET") if domain else ("ntlm", "winremedy-local")), target.name
    dmz = targets["fra-dmz-web01.dmz.example.net"]
    assert (dmz.options.address, dmz.options.ca_trust_path) == ("192.0.2.21", "/etc/pki/winremedy/dmz-ca.pem")
    assert str(window_from_hostvars(dmz.hostvars, dmz.name)) == "Sat 23:00-01:00 Europe/Berlin"
    lcs = targets["fra-lcs01.corp.example.net"]
    assert str(window_from_hostvars(lcs.hostvars, lcs.name)) == "Sun 03:00-03:30 Europe/Berlin"
    assert lcs.options.operation_timeout_sec == 120  # win2003's
    assert str(window_from_hostvars(targets["chi-sql01.corp.example.net"].hostvars, "chi-sql01")) == \
        "Sat,Sun 01:00-03:00 America/Chicago"


# --- scale-out: slices merge into one fleet report ---------------------------------------------------


def test_slices_audited_by_the_cli_and_the_playbook_merge_into_one_fleet_report(
        installed: dict[str, str], tmp_path: Path) -> None:
    """The committed lab fleet, audited in two slices (as two AWX job slices or two controllers would), once by
    ``winremedy audit`` and once by the installed collection's playbook; their hosts/ copied together give
    ``winremedy report`` the same fleet report as one audit of every host."""
    with running_lab(tmp_path, yaml.safe_load((REPO / "inventories" / "lab" / "fleet.yml").read_text())) as lab:
        inventory = str(lab / "inventory.yml")
        whole = json.loads(winremedy("audit", "-i", inventory, "--format", "json").stdout)
        winremedy("audit", "-i", inventory, "-l", "all[0:3]", "--out", str(tmp_path / "slice-1"))
        run = _run("ansible-playbook", "-i", inventory, "winremedy.windows.audit", "-l", "all[4:]",
                   "-e", f"winremedy_report_dir={tmp_path / 'slice-2'}", env=installed, cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    slices = [sorted(p.name for p in (tmp_path / s / "hosts").glob("*.json")) for s in ("slice-1", "slice-2")]
    assert len(slices[0]) == 4 and len(slices[1]) == len(whole["hosts"]) - 4 and not set(slices[0]) & set(slices[1])
    merged = tmp_path / "fleet"
    (merged / "hosts").mkdir(parents=True)
    for part in ("slice-1", "slice-2"):
        for result in (tmp_path / part / "hosts").glob("*.json"):
            shutil.copy2(result, merged / "hosts")
    report = winremedy("report", str(merged), "--format", "json")
    assert report.returncode == 1  # findings, as in the whole audit
    fleet: dict[str, Any] = json.loads(report.stdout)
    assert set(fleet["hosts"]) == set(whole["hosts"])
    assert fleet["summary"]["findings"] == whole["summary"]["findings"]
    assert {name: [(f["kb"], f["status"]) for f in host["findings"]] for name, host in fleet["hosts"].items()} == \
        {name: [(f["kb"], f["status"]) for f in host["findings"]] for name, host in whole["hosts"].items()}
