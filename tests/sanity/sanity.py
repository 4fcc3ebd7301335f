"""``ansible-test sanity`` on the collection as it ships, with nothing downloaded while the tests run.

    .venv/bin/python tests/sanity/sanity.py prime   # once, with PyPI reachable (.ci/run does it)
    .venv/bin/python tests/sanity/sanity.py run     # offline

Why a wrapper:

* ansible-test wants the collection at ``.../ansible_collections/winremedy/windows``. The tree tested
  here is the tarball ``ansible-galaxy collection build`` makes (what users install: plugins, meta,
  playbooks, docs; not the engine in ``src/``, which ruff and mypy check), plus ``tests/sanity/``.
* Each sanity test runs in its own virtual environment with pinned requirements from PyPI, which
  ansible-test creates on first use. ``prime`` creates them (``ansible-test sanity --prime-venvs``);
  ``run`` then forbids pip every index (``PIP_NO_INDEX``) and routes HTTP(S) to a closed port, so a
  missing environment is an error, never a download.
* ansible-test runs pip with a cleaned environment (PATH, HOME, LC_ALL: no ``PIP_*`` variable, no proxy),
  so pip is steered by its user configuration under that HOME: ``prime`` writes the project pip's
  own settings there (``pip config list``: files and ``PIP_*`` variables), and leaves, like ``run``,
  ``no-index = true``.
* ansible-test bootstraps pip in a new environment with get-pip.py downloaded from
  ci-files.testing.ansible.com, which a machine with only PyPI access cannot reach. ``prime`` seeds
  ansible-test's cache with a stand-in that takes pip from the interpreter's own ``ensurepip`` and
  then installs the pip version ansible-test pins (from PyPI).
* Everything ansible-test keeps (cache, environments, the seeded bootstrap) lives under its own HOME,
  ``$WINREMEDY_SANITY_HOME`` (default ``~/.cache/winremedy-ansible-test``), not in the user's ``~/.ansible``.

Tests skipped, and why: ``pslint`` needs PowerShell (pwsh) and the collection has no ``.ps1`` anyway;
``shellcheck`` has no shell script to check. Every other test of ansible-test runs.
Exit code: ansible-test's (0 = every test passed); 3 = ``run`` before ``prime``.
"""

from __future__ import annotations

import argparse
import configparser
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SKIPPED = ("pslint", "shellcheck")
NOT_PRIMED = 3
CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens, so any download fails at once

# The get-pip.py stand-in: run by ansible-test with the new environment's interpreter and get-pip's
# arguments (pip install options and the pinned packages, plus --no-setuptools/--no-wheel).
_BOOTSTRAP = '''\
"""get-pip.py stand-in seeded by winremedy's tests/sanity/sanity.py: pip from ensurepip, then ansible-test's pins."""
import subprocess
import sys

# In a process of its own: ensurepip points PIP_CONFIG_FILE at /dev/null in the process that runs it.
subprocess.check_call([sys.executable, "-m", "ensurepip"])
arguments = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *arguments]))
'''


def sanity_home() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "winremedy-ansible-test"
    return Path(os.environ.get("WINREMEDY_SANITY_HOME", default))


def configure_pip(home: Path, *, offline: bool) -> None:
    """The pip configuration ansible-test's pip reads (it passes no PIP_* variable): ours, or no index at all."""
    settings: dict[str, dict[str, str]] = {"global": {"no-index": "true"}}
    if not offline:
        settings = {}
        listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], check=True, capture_output=True,
                                text=True).stdout
        for line in listed.splitlines():  # e.g. global.cert='/etc/ssl/certs/ca.crt' or :env:.find-links='/opt'
            name, _, value = line.partition("=")
            section, _, key = name.rpartition(".")
            keys = settings.setdefault("global" if section == ":env:" else section, {})
            if section == ":env:" or key not in keys:  # a PIP_* variable wins over the files, as in pip
                keys[key] = value.strip("'\"")
    config = configparser.ConfigParser(interpolation=None)
    config.read_dict(settings)
    path = home / ".config" / "pip" / "pip.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as stream:
        config.write(stream)


def seed_bootstrap(home: Path) -> Path:
    """Put the stand-in where ansible-test looks for a cached get-pip.py for the pip version it pins."""
    from ansible_test._internal.python_requirements import get_venv_packages

    version = get_venv_packages(SimpleNamespace(version=f"{sys.version_info[0]}.{sys.version_info[1]}"))["pip"]
    path = home / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_BOOTSTRAP)
    return path


def collection_tree(work: Path) -> Path:
    """The collection as built from the tracked files, unpacked at WORK/ansible_collections/winremedy/windows.

    Tracked files only (``git ls-files``, as a fresh clone has them): untracked work in progress and
    local artefacts are not the collection. ``tests/sanity/`` is added back (the build leaves ``tests`` out).
    """
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
    checkout = work / "checkout"
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():  # tracked but deleted in the working tree: gone
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work), str(checkout)],
                   check=True, capture_output=True, text=True)
    (tarball,) = work.glob("winremedy-windows-*.tar.gz")
    tree = work / "ansible_collections" / "winremedy" / "windows"
    tree.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(tree, filter="data")
    shutil.copytree(checkout / "tests" / "sanity", tree / "tests" / "sanity",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return tree


def ansible_test(tree: Path, home: Path, *args: str, offline: bool) -> int:
    configure_pip(home, offline=offline)
    env = {**os.environ, "HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if offline:  # for ansible-test itself; the processes it starts get HOME and PATH only
        env.update(PIP_NO_INDEX="1", HTTP_PROXY=CLOSED_PORT, HTTPS_PROXY=CLOSED_PORT, http_proxy=CLOSED_PORT,
                   https_proxy=CLOSED_PORT, NO_PROXY="", no_proxy="")
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    command = [str(BIN / "ansible-test"), "sanity", "--python", python, "--color", "no",
               *(option for test in SKIPPED for option in ("--skip-test", test)), *args]
    return subprocess.run(command, cwd=tree, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("prime", "run"))
    parser.add_argument("ansible_test_args", nargs="*", help="more ansible-test sanity arguments (after --)")
    args = parser.parse_args(argv)
    home = sanity_home()
    with tempfile.TemporaryDirectory(prefix="winremedy-sanity-") as work:
        tree = collection_tree(Path(work))
        if args.action == "prime":
            seed_bootstrap(home)
            primed = ansible_test(tree, home, "--prime-venvs", *args.ansible_test_args, offline=False)
            configure_pip(home, offline=True)
            return primed
        if ansible_test(tree, home, "--prime-venvs", offline=True):
            print(f"sanity: the test environments in {home} are missing or incomplete; "
                  f"run '{sys.executable} {Path(__file__)} prime' once with PyPI reachable", file=sys.stderr)
            return NOT_PRIMED
        return ansible_test(tree, home, *args.ansible_test_args, offline=True)


if __name__ == "__main__":
    sys.exit(main())
