# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FOR INTERNAL COLLECTION USE ONLY: the winremedy engine, imported only when it is there and fits.

The action plugins are thin: the catalog, the collector and the assessment live
in the ``winremedy`` Python package on the controller. That package is a
separate install, so its absence or a version from another release must end the
task with one clear line, never an ImportError traceback, and ``ansible-doc``
must keep working without it (nothing here imports it at module level).
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import yaml
from ansible.errors import AnsibleActionFail

if t.TYPE_CHECKING:
    from types import ModuleType

COLLECTION_ROOT = Path(__file__).resolve().parents[2]
MISSING = "the winremedy Python package is required on the controller: pip install winremedy"


def collection_version(root: Path = COLLECTION_ROOT) -> str:
    """This collection's version: MANIFEST.json when installed by ansible-galaxy, galaxy.yml in a checkout."""
    manifest = root / "MANIFEST.json"
    if manifest.is_file():
        return str(json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"])
    return str(yaml.safe_load((root / "galaxy.yml").read_text(encoding="utf-8"))["version"])


def require_engine(root: Path = COLLECTION_ROOT) -> ModuleType:
    """The ``winremedy`` package, or AnsibleActionFail when it is missing or from another release series.

    The collection and the package are released together with one version; a
    patch release of either side stays compatible, a different major.minor may not.
    """
    try:
        import winremedy
    except ImportError:
        raise AnsibleActionFail(MISSING) from None
    wanted = collection_version(root)
    if _series(winremedy.__version__) != _series(wanted):
        raise AnsibleActionFail(
            f"winremedy.windows {wanted} needs the winremedy Python package {_series(wanted)}.x on the controller, "
            f"found {winremedy.__version__}: pip install 'winremedy=={_series(wanted)}.*'"
        )
    return winremedy


def _series(version: str) -> str:
    return ".".join(version.split(".")[:2])
