"""The KB catalog: one YAML file per hotfix article, checked against a JSON Schema on load.

Adding a KB is adding a file to ``kb/``; the engine asks hosts only what the
catalog says. See :mod:`winremedy.catalog.loader` for the strictness rules and
:mod:`winremedy.catalog.model` for the typed form.
"""

from __future__ import annotations

from .loader import CATALOG_PATH_ENV, SR_LEVELS, catalog_paths, load_catalog, load_kb_file, schema, use_catalog_paths
from .model import (
    AdditionalFile,
    Applicability,
    Catalog,
    Exclusion,
    FileRow,
    Indicator,
    KbEntry,
    Noise,
    Package,
    PoolTag,
    Prerequisite,
    Registration,
    RegistryValue,
    Uncertainty,
    Workaround,
    normalize_kb_id,
)

__all__ = [
    "CATALOG_PATH_ENV",
    "SR_LEVELS",
    "AdditionalFile",
    "Applicability",
    "Catalog",
    "Exclusion",
    "FileRow",
    "Indicator",
    "KbEntry",
    "Noise",
    "Package",
    "PoolTag",
    "Prerequisite",
    "Registration",
    "RegistryValue",
    "Uncertainty",
    "Workaround",
    "catalog_paths",
    "load_catalog",
    "use_catalog_paths",
    "load_kb_file",
    "normalize_kb_id",
    "schema",
]
