"""load_targets reads Ansible inventories through ansible-core itself: the CLI sees what a playbook sees."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from winremedy.errors import InventoryError, TransportConfigError, WinRemedyError
from winremedy.inventory import Target, load_targets

DATA = Path(__file__).parent.parent / "data" / "inventory"
INI = str(DATA / "ini" / "hosts.ini")
YAML = str(DATA / "yaml" / "hosts.yml")
VAULT_PASSWORD = "correct horse battery staple"


def by_name(targets: list[Target]) -> dict[str, Target]:
    return {target.name: target for target in targets}


def encrypt(text: str, password: str = VAULT_PASSWORD) -> str:
    return VaultLib([("default", VaultSecret(password.encode()))]).encrypt(text).decode()


def password_file(tmp_path: Path, password: str = VAULT_PASSWORD) -> str:
    path = tmp_path / f"vault-pass-{len(password)}.txt"
    path.write_text(password + "\n")
    return str(path)


def assert_one_line(error: pytest.ExceptionInfo[WinRemedyError]) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- INI and YAML inventories, group_vars and host_vars ---------------------------------------------------


def test_ini_inventory_groups_children_group_vars_and_host_vars() -> None:
    targets = by_name(load_targets([INI]))
    assert sorted(targets) == ["dc01", "sql01", "web01", "web02"]
    assert targets["web01"].groups == ("web", "windows")
    assert targets["dc01"].groups == ("dc", "windows")

    web01 = targets["web01"].options
    assert (web01.address, web01.port, web01.scheme, web01.transport) == ("10.0.1.11", 5986, "https", "ntlm")
    assert web01.user == "CORP\\svc_winremedy"
    assert (web01.ca_trust_path, web01.server_cert_validation) == ("/etc/pki/corp-ca.pem", "validate")
    assert web01.endpoint("web01") == "https://10.0.1.11:5986/wsman"

    web02 = targets["web02"].options  # ansible_port from the INI line, ansible_winrm_scheme from host_vars
    assert (web02.port, web02.scheme, web02.transport) == (5985, "http", "ntlm")
    sql01 = targets["sql01"].options  # group_vars/sql.yml
    assert (sql01.port, sql01.scheme, sql01.operation_timeout_sec, sql01.read_timeout_sec) == (15986, "https", 60, 70)
    assert targets["dc01"].options.server_cert_validation == "ignore"  # host_vars beat group_vars


def test_templated_password_is_rendered_per_host() -> None:
    targets = by_name(load_targets([INI]))
    assert targets["web01"].options.password == "pw-web01"  # "{{ site_password }}" -> "pw-{{ inventory_hostname }}"
    assert targets["sql01"].options.password == "pw-sql01"
    assert targets["web01"].hostvars["ansible_password"] == "pw-web01"


def test_yaml_inventory_nested_children_and_its_own_vars_directories() -> None:
    targets = by_name(load_targets([YAML]))
    assert sorted(targets) == ["app01.corp.example", "app02.corp.example", "app03.corp.example", "jump01"]
    app01, app02, app03 = (targets[f"app0{n}.corp.example"] for n in (1, 2, 3))
    assert app01.groups == ("legacy", "site_a")
    assert (app01.options.address, app01.options.transport, app01.options.message_encryption) == (
        "10.1.0.1",
        "kerberos",
        "always",
    )
    assert app01.options.user == "svc_winremedy@CORP.EXAMPLE"
    assert app02.options.kerberos_delegation is True
    assert (app02.options.operation_timeout_sec, app02.options.read_timeout_sec) == (80, 90)
    assert (app03.options.port, app03.options.scheme) == (5985, "http")
    assert app03.options.endpoint(app03.name) == "http://app03.corp.example:5985/wsman"


def test_several_sources_are_merged() -> None:
    targets = by_name(load_targets([INI, YAML]))
    assert len(targets) == 8
    assert targets["web01"].options.transport == "ntlm"
    assert targets["app01.corp.example"].options.transport == "kerberos"


def test_an_inventory_directory_is_a_source(tmp_path: Path) -> None:
    (tmp_path / "a.ini").write_text("[a]\nhost-a\n")
    (tmp_path / "b.yml").write_text("all:\n  hosts:\n    host-b:\n")
    assert sorted(target.name for target in load_targets([str(tmp_path)])) == ["host-a", "host-b"]


def test_unknown_winrm_variable_and_a_non_winrm_connection_are_warnings() -> None:
    targets = by_name(load_targets([INI, YAML]))
    assert targets["dc01"].warnings == (
        "dc01: ignoring unknown variable ansible_winrm_foo",
        "dc01: server_cert_validation is ignore: anyone on the path can pose as this host and receive its credentials",
    )
    assert targets["web01"].warnings == ()
    assert targets["jump01"].warnings == ("jump01: ansible_connection is 'ssh'; winremedy connects over WinRM",)


def test_hostvars_are_plain_read_only_and_not_in_repr() -> None:
    target = by_name(load_targets([INI]))["web02"]
    assert type(target.hostvars["ansible_port"]) is int  # noqa: E721 - not Ansible's tagged int
    assert type(target.hostvars["ansible_host"]) is str  # noqa: E721
    assert type(target.hostvars["group_names"]) is list  # noqa: E721
    assert target.hostvars["inventory_hostname"] == "web02"
    assert "groups" not in target.hostvars  # fleet-sized magic variable
    with pytest.raises(TypeError):
        target.hostvars["ansible_port"] = 1  # type: ignore[index]
    assert "pw-web02" not in repr(target)


def test_extra_vars_win_and_may_be_templates() -> None:
    targets = by_name(load_targets([INI], extra_vars={"ansible_user": "{{ 'ops' | upper }}", "ansible_port": 5999}))
    assert {(t.options.user, t.options.port) for t in targets.values()} == {("OPS", 5999)}


# --- --limit -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("web", ["web01", "web02"]),
        ("sql01", ["sql01"]),
        ("windows:!dc", ["sql01", "web01", "web02"]),
        ("web0*", ["web01", "web02"]),
        ("web:sql", ["sql01", "web01", "web02"]),
        ("windows:&dc", ["dc01"]),
        ("~(sql|dc)\\d+", ["dc01", "sql01"]),
        ("all:!web01", ["dc01", "sql01", "web02"]),
    ],
)
def test_limit_takes_ansible_patterns(limit: str, expected: list[str]) -> None:
    assert sorted(target.name for target in load_targets([INI], limit=limit)) == expected


def test_limit_from_a_retry_file(tmp_path: Path) -> None:
    retry = tmp_path / "audit.retry"
    retry.write_text("sql01\ndc01\n")
    assert sorted(target.name for target in load_targets([INI], limit=f"@{retry}")) == ["dc01", "sql01"]


def test_limit_matching_nothing_is_an_error() -> None:
    with pytest.raises(InventoryError) as error:
        load_targets([INI], limit="nosuchhost")
    assert assert_one_line(error).startswith(f"limit 'nosuchhost' matches no host in {INI}")
    assert error.value.code == "inventory"


def test_a_missing_retry_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as error:
        load_targets([INI], limit=f"@{tmp_path}/missing.retry")
    assert "missing.retry" in assert_one_line(error)


def test_a_partly_matching_limit_logs_ansibles_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="winremedy.inventory"):
        targets = load_targets([INI], limit="web01,typo-host-4711")
    assert [target.name for target in targets] == ["web01"]
    assert "Could not match supplied host pattern, ignoring: typo-host-4711" in caplog.text


# --- vault ---------------------------------------------------------------------------------------------------


def vaulted_inventory(tmp_path: Path, password: str = VAULT_PASSWORD) -> str:
    """An inline ``!vault`` password in the inventory and a wholly encrypted group_vars file."""
    inline = "\n".join("        " + line for line in encrypt("inline-s3cret", password).splitlines())
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    w1:\n      ansible_password: !vault |\n"
        + inline
        + "\n    w2:\n      ansible_password: \"{{ vault_group_password }}\"\n"
    )
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(
        encrypt("vault_group_password: group-s3cret\nansible_user: vaulted-user\n", password)
    )
    return str(inventory)


def test_inline_vault_value_and_encrypted_group_vars_file(tmp_path: Path) -> None:
    inventory = vaulted_inventory(tmp_path)
    targets = by_name(load_targets([inventory], vault_password_files=[password_file(tmp_path)]))
    assert targets["w1"].options.password == "inline-s3cret"
    assert targets["w2"].options.password == "group-s3cret"
    assert {t.options.user for t in targets.values()} == {"vaulted-user"}
    assert type(targets["w1"].hostvars["ansible_password"]) is str  # noqa: E721 - decrypted, no EncryptedString


def test_a_second_load_uses_its_own_vault_password(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    load_targets([vaulted_inventory(first)], vault_password_files=[password_file(first)])
    targets = load_targets([vaulted_inventory(second, "other")], vault_password_files=[password_file(second, "other")])
    assert by_name(targets)["w1"].options.password == "inline-s3cret"


def test_wrong_vault_password_names_the_encrypted_file(tmp_path: Path) -> None:
    inventory = vaulted_inventory(tmp_path)
    with pytest.raises(InventoryError) as error:
        load_targets([inventory], vault_password_files=[password_file(tmp_path, "wrong")])
    assert assert_one_line(error).startswith(f"cannot decrypt {tmp_path / 'group_vars' / 'all.yml'}: Decryption failed")


def test_wrong_vault_password_for_an_inline_value_names_host_and_variable(tmp_path: Path) -> None:
    inline = "\n".join("        " + line for line in encrypt("inline-s3cret").splitlines())
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    w1:\n      ansible_password: !vault |\n" + inline + "\n")
    with pytest.raises(InventoryError) as error:  # the run's problem, not the host's
        load_targets([str(inventory)], vault_password_files=[password_file(tmp_path, "wrong")])
    message = assert_one_line(error)
    assert message.startswith("host w1: variable ansible_password: ") and "decrypt" in message


def test_encrypted_file_without_a_vault_password_is_named(tmp_path: Path) -> None:
    inventory = vaulted_inventory(tmp_path)
    with pytest.raises(InventoryError) as error:
        load_targets([inventory])
    assert assert_one_line(error) == (
        f"{tmp_path / 'group_vars' / 'all.yml'} is vault-encrypted and no vault password file was given"
    )


def test_wholly_encrypted_inventory_with_a_wrong_password_cannot_be_parsed(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(encrypt("all:\n  hosts:\n    w1:\n"))
    assert [t.name for t in load_targets([str(inventory)], vault_password_files=[password_file(tmp_path)])] == ["w1"]
    with pytest.raises(InventoryError) as error:
        load_targets([str(inventory)], vault_password_files=[password_file(tmp_path, "wrong")])
    message = assert_one_line(error)
    assert message.startswith(f"cannot parse inventory {inventory}: ") and "Decryption failed" in message


def test_missing_vault_password_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as error:
        load_targets([INI], vault_password_files=[str(tmp_path / "nope.txt")])
    assert "nope.txt" in assert_one_line(error)


# --- errors --------------------------------------------------------------------------------------------------


def test_missing_inventory_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as error:
        load_targets([INI, str(tmp_path / "missing.ini")])
    assert assert_one_line(error) == f"inventory source not found: {tmp_path / 'missing.ini'}"


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("broken.yml", "all:\n  hosts: [a, b\n", "YAML parsing failed"),
        ("shape.yml", "all:\n  hosts:\n    - a\n", 'Invalid "hosts" entry'),
        ("broken.ini", "[web\nweb01\n", "ini plugin: Failed to parse inventory"),
    ],
)
def test_unparsable_inventory_is_an_error_naming_the_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], name: str, text: str, reason: str
) -> None:
    inventory = tmp_path / name
    inventory.write_text(text)
    with pytest.raises(InventoryError) as error:
        load_targets([INI, str(inventory)])  # Ansible alone would warn and go on with the INI hosts
    message = assert_one_line(error)
    assert message.startswith(f"cannot parse inventory {inventory}: ") and reason in message
    assert capfd.readouterr() == ("", "")  # Ansible's warnings became the error, nothing printed


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    inventory = tmp_path / "broken.yml"
    inventory.write_text("all:\n  hosts:\n    a:\n      ansible_port: [5985\n")
    with pytest.raises(InventoryError) as error:
        load_targets([str(inventory)])
    assert re.search(rf"\(at {re.escape(str(inventory))}:\d+:\d+\)", assert_one_line(error))


def test_broken_group_vars_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("[web]\nweb01\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "web.yml").write_text("ansible_port: [5985\n")
    with pytest.raises(InventoryError) as error:
        load_targets([str(tmp_path / "hosts.ini")])
    message = assert_one_line(error)
    assert message.startswith("host web01: variables: YAML parsing failed")
    assert f"(at {tmp_path / 'group_vars' / 'web.yml'}:2:1)" in message


def test_inventory_without_hosts(tmp_path: Path) -> None:
    inventory = tmp_path / "empty.ini"
    inventory.write_text("[web]\n")
    with pytest.raises(InventoryError) as error:
        load_targets([str(inventory)])
    assert assert_one_line(error) == f"no hosts in inventory {inventory}"


def test_undefined_variable_in_a_connection_template(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text('[web]\nweb01 ansible_password="{{ vault_winrm_password }}"\n')
    (target,) = load_targets([str(inventory)])
    assert failure(target) == "host web01: variable ansible_password: 'vault_winrm_password' is undefined"


def test_undefined_variable_elsewhere_is_left_out_with_a_warning(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text('[web]\nweb01 backup_share="{{ backup_root }}\\\\web01"\n')
    target = load_targets([str(inventory)])[0]
    assert "backup_share" not in target.hostvars
    assert target.warnings == ("web01: variable backup_share left out: 'backup_root' is undefined",)


def test_invalid_winrm_value_is_a_transport_config_error(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[web]\nweb01 ansible_winrm_transport=telnet\n")
    (target,) = load_targets([str(inventory)])
    assert failure(target).startswith("web01: variable ansible_winrm_transport")


@pytest.mark.parametrize(
    "variable",
    ["ansible_port=https", "ansible_winrm_connection_timeout=soon", "ansible_winrm_transport=telnet",
     "ansible_winrm_message_encryption=sometimes", 'ansible_password="{{ nowhere }}"',
     "ansible_winrm_transport=basic ansible_port=5985"],
)
def test_one_bad_connection_variable_fails_that_host_only(tmp_path: Path, variable: str) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[web]\nbad01 {variable}\ngood01 ansible_host=10.0.0.2\n")
    targets = by_name(load_targets([str(inventory)]))
    assert failure(targets["bad01"]).startswith(("bad01: ", "host bad01: "))
    assert targets["good01"].error is None and targets["good01"].winrm_options().address == "10.0.0.2"


@pytest.mark.parametrize("value", ["[31415926]", "{secret: 31415926}", "true"])
def test_a_wrong_password_value_is_never_shown(tmp_path: Path, value: str) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(f"all:\n  hosts:\n    w1:\n      ansible_password: {value}\n")
    (target,) = load_targets([str(inventory)])
    message = failure(target)
    assert "ansible_password" in message and "31415926" not in message and "True" not in message


def test_a_numeric_password_is_accepted_as_ansible_does(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    w1:\n      ansible_password: 31415926\n")
    (target,) = load_targets([str(inventory)])
    assert target.winrm_options().password == "31415926"


def failure(target: Target) -> str:
    """The host's one-line reason, also raised (as a TransportConfigError) by winrm_options()."""
    assert target.options is None and target.error is not None and "\n" not in target.error
    with pytest.raises(TransportConfigError, match=re.escape(target.error)):
        target.winrm_options()
    return target.error


def test_ansible_prints_nothing_on_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    load_targets([INI], limit="web01,another-typo-0815")
    assert capfd.readouterr().out == ""


# --- the rest of winremedy does not import Ansible -------------------------------------------------------------


def test_importing_winremedy_inventory_does_not_import_ansible() -> None:
    code = (
        "import sys, winremedy.inventory, winremedy.cli; "
        "sys.exit(any(m == 'ansible' or m.startswith('ansible.') for m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode == 0


def test_only_the_inventory_module_imports_ansible() -> None:
    package = Path(__file__).parent.parent.parent / "src" / "winremedy"
    importers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"^\s*(from|import)\s+ansible\b", path.read_text(encoding="utf-8"), re.MULTILINE)
    }
    assert importers <= {"inventory.py"}


# --- scale -----------------------------------------------------------------------------------------------------


def test_a_thousand_host_yaml_inventory(tmp_path: Path) -> None:
    sites = {
        f"site{s:02d}": {
            "vars": {"ansible_user": f"CORP\\svc{s:02d}"},
            "hosts": {f"srv{s:02d}-{n:03d}.corp.example": {"ansible_host": f"10.{s}.0.{n}"} for n in range(100)},
        }
        for s in range(10)
    }
    inventory = {"all": {"vars": {"ansible_winrm_transport": "ntlm"}, "children": {"windows": {"children": sites}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "windows.yml").write_text(
        'ansible_password: "{{ fleet_password }}"\nfleet_password: x\n'
    )
    started = time.perf_counter()
    targets = load_targets([str(tmp_path / "hosts.yml")])
    elapsed = time.perf_counter() - started
    print(f"\n1,000-host YAML inventory loaded in {elapsed:.2f} s")
    assert len(targets) == 1000
    assert {t.options.password for t in targets} == {"x"}
    assert by_name(targets)["srv07-042.corp.example"].options.address == "10.7.0.42"
