# Copyright: winremedy engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog_paths option every plugin of the collection takes, documented once."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  catalog_paths:
    description:
      - Directories on the controller holding your own KB files (C(KB*.yml), one per hotfix article), read
        together with the catalog packaged with winremedy, exactly as C(winremedy --catalog DIR). Added to the
        directories named by the environment variable E(WINREMEDY_CATALOG_PATH).
      - A KB defined twice (here and in the packaged catalog, or in two directories) fails the task, naming both
        files. Check a new file first with C(winremedy catalog validate FILE); see the collection's docs/catalog.md.
      - The playbooks pass the variable C(winremedy_catalog_paths).
    type: list
    elements: path
    default: []
"""
