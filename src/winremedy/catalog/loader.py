"""Strict loading of the KB catalog: YAML -> JSON Schema -> cross-field checks -> typed entries.

Why strict: the catalog is knowledge transcribed from articles, and a wrong row
silently turns "missing" into "fixed" on a fleet. Every problem raises
:class:`CatalogError` with one line naming the file and the key path, e.g.
``KB2847346.yml: files[3].version: '6.1.7601' is not a 4-part version``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..errors import CatalogError, VersionError
from ..versions import WinVersion
from .model import (
    AdditionalFile,
    Applicability,
    Catalog,
    Exclusion,
    FileRow,
    Indicator,
    Noise,
    PoolTag,
    KbEntry,
    Package,
    Prerequisite,
    Registration,
    RegistryValue,
    Uncertainty,
    Workaround,
)

SCHEMA_VERSION = 1
_SUFFIXES = (".yml", ".yaml")

# Service level of an OS build, as the articles' "SR_Level" column uses it.
SR_LEVELS: dict[str, str] = {
    "6.0.6000": "RTM",
    "6.0.6001": "SP1",
    "6.0.6002": "SP2",
    "6.1.7600": "RTM",
    "6.1.7601": "SP1",
}

# Pattern of the schema -> the words a catalog author understands.
_PATTERN_WORDS = {
    r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$": "is not a 4-part version",
    r"^[0-9]+\.[0-9]+\.[0-9]+$": "is not an OS build like 6.1.7601",
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "is not an ISO date (YYYY-MM-DD)",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": "is not a time (HH:MM)",
    r"^KB[0-9]{6,7}$": "is not a KB id like KB2847346",
    r"^[a-z][a-z0-9_]*$": "is not an id (lowercase letters, digits, _)",
}


class _Problem(Exception):
    """A problem at a key path inside one file; turned into a CatalogError by the caller."""

    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = tuple(path)
        self.message = message


# Directories of user KB files, separated like PATH. The CLI's --catalog and the plugins' catalog_paths are
# added to it, so that every part of a run, and the lab daemon a run starts, reads the same catalog.
CATALOG_PATH_ENV = "WINREMEDY_CATALOG_PATH"


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load and check every ``KB*.yml`` of ``directory``; without one, the packaged catalog plus the user
    catalog directories of :func:`catalog_paths` (cached)."""
    if directory is None:
        return _combined_catalog(catalog_paths())
    return _load(_directory(Path(directory)))


def catalog_paths() -> tuple[Path, ...]:
    """The user catalog directories named by ``WINREMEDY_CATALOG_PATH``, in order."""
    return tuple(Path(p) for p in os.environ.get(CATALOG_PATH_ENV, "").split(os.pathsep) if p)


def use_catalog_paths(paths: Iterable[str | Path]) -> None:
    """Add ``paths`` (before those already named) to the user catalog directories of this process and its children."""
    merged = [str(Path(p).expanduser()) for p in paths] + [str(p) for p in catalog_paths()]
    os.environ[CATALOG_PATH_ENV] = os.pathsep.join(dict.fromkeys(merged))


@functools.lru_cache(maxsize=8)
def _combined_catalog(paths: tuple[Path, ...]) -> Catalog:
    """The packaged KBs, then each user directory's; a KB defined twice is an error naming both files."""
    kbs = dict(_load(resources.files(__package__).joinpath("kb")).kbs)
    for directory in paths:
        for kb, entry in _load(_directory(directory), full_names=True).kbs.items():
            if kb in kbs:
                raise CatalogError(f"{entry.source}: kb: {kb} is already defined in {kbs[kb].source}")
            kbs[kb] = entry
    _check_unique_indicators(kbs)
    return Catalog(kbs=kbs)


def _directory(directory: Path) -> Path:
    if not directory.is_dir():
        raise CatalogError(f"{directory}: catalog directory not found")
    return directory


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema every catalog file follows (draft 2020-12)."""
    text = resources.files(__package__).joinpath("schema", "kb.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def _load(directory: Traversable | Path, *, full_names: bool = False) -> Catalog:
    sources = sorted(
        (f for f in directory.iterdir() if f.is_file() and f.name.endswith(_SUFFIXES) and not f.name.startswith(".")),
        key=lambda f: f.name,
    )
    if not sources:
        raise CatalogError(f"{directory}: no KB files (*.yml) in the catalog directory")
    kbs: dict[str, KbEntry] = {}
    for src in sources:
        entry = load_kb_file(src, label=str(src) if full_names else None)
        if entry.kb in kbs:
            raise CatalogError(f"{src.name}: kb: duplicate KB {entry.kb} (also in {kbs[entry.kb].source.name})")
        kbs[entry.kb] = entry
    _check_unique_indicators(kbs)
    return Catalog(kbs=kbs)


def _check_unique_indicators(kbs: dict[str, KbEntry]) -> None:
    """An indicator is evidence for one KB: a leak it shows turns that KB, and only that one, into missing_leaking."""
    first: dict[str, KbEntry] = {}
    for entry in kbs.values():
        for i, ind in enumerate(entry.indicators):
            other = first.setdefault(ind.id, entry)
            if other is not entry:
                raise CatalogError(
                    f"{entry.source.name}: indicators[{i}].id: indicator {ind.id!r} is also defined in "
                    f"{other.source.name}; an indicator is evidence for one KB only"
                )


def load_kb_file(path: Traversable | Path, *, label: str | None = None) -> KbEntry:
    """Load one catalog file; every problem is a one-line CatalogError naming the file (``label``, default its
    name) and key."""
    name = label or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{name}: cannot read: {exc}") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CatalogError(f"{name}: {_yaml_message(exc)}") from None
    try:
        if not isinstance(data, dict):
            raise _Problem((), f"expected a mapping of catalog keys at the top level, got {type(data).__name__}")
        _check_schema(data)
        _check_semantics(data, path.name)
        return _build(data, Path(str(path)))
    except _Problem as problem:
        where = _format_path(problem.path)
        raise CatalogError(f"{name}: {where + ': ' if where else ''}{problem.message}") from None


# --- YAML ---------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return " ".join(f"{where}YAML error: {problem}".split())


# --- schema -------------------------------------------------------------------------------------


def _check_schema(data: dict[str, Any]) -> None:
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        raise _schema_problem(error)


def schema_problems(path: Path) -> list[str]:
    """Every schema problem of one KB file, one line each (``FILE: key: problem``), for ``catalog validate``;
    a file that is not YAML, or not a mapping, gives its one problem."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # load_kb_file says why, in its words
    if not isinstance(data, dict):
        return []
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    problems = [_schema_problem(jsonschema.exceptions.best_match([error])) for error in errors]
    return list(dict.fromkeys(f"{path}: {_format_path(p.path)}: {p.message}" for p in problems))


def _schema_problem(error: jsonschema.exceptions.ValidationError) -> _Problem:
    path = list(error.absolute_path)
    value = error.instance
    kind = error.validator
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        unknown = sorted((k for k in value if k not in allowed), key=str)
        return _Problem(path + [str(unknown[0])], f"unknown key (allowed: {', '.join(allowed)})")
    if kind == "required":
        missing = [k for k in error.validator_value if k not in value]
        also = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        return _Problem(path + [missing[0]], f"missing required key{also}")
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        hint = " (YAML read it as a date: quote it)" if isinstance(value, (_dt.date, _dt.datetime)) else ""
        return _Problem(path, f"{_show(value)} is not of type {expected}{hint}")
    if kind == "pattern":
        words = _PATTERN_WORDS.get(error.validator_value, f"does not match {error.validator_value}")
        return _Problem(path, f"{_show(value)} {words}")
    if kind == "enum":
        choices = ", ".join("null" if c is None else str(c) for c in error.validator_value)
        return _Problem(path, f"{_show(value)} is not one of: {choices}")
    if kind == "const":
        return _Problem(path, f"{_show(value)} must be {error.validator_value!r}")
    return _Problem(path, " ".join(error.message.split())[:200])


def _show(value: Any) -> str:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --- cross-field checks -------------------------------------------------------------------------


def _check_semantics(data: dict[str, Any], file_name: str) -> None:
    """What JSON Schema cannot say: agreement between keys, rows and the file name."""
    kb = data["kb"]
    stem = file_name.rsplit(".", 1)[0]
    if kb != stem:
        raise _Problem(["kb"], f"{kb!r} does not match the file name {file_name!r} (expected {stem!r})")
    if data["registration"]["kb"] != kb:
        raise _Problem(["registration", "kb"], f"{data['registration']['kb']!r} is not the file's KB {kb!r}")
    number = kb[2:]
    if number not in data["article"]:
        raise _Problem(["article"], f"{data['article']!r} does not name {number}")
    prefix = data["registration"]["cbs_package_prefix"]
    if prefix is not None and prefix.lower() != f"package_for_{kb.lower()}":
        raise _Problem(["registration", "cbs_package_prefix"], f"{prefix!r} is not Package_for_{kb}")

    for i, rule in enumerate(data["applies_to"]):
        if (rule["confidence"] != "confirmed" or rule["verify"] != "files") and not rule["note"]:
            raise _Problem(["applies_to", i, "note"], "required when confidence is not 'confirmed' or verify is not 'files'")
        for j, excl in enumerate(data["excluded"]):
            if (excl["status"] == "prerequisite_missing") != bool(excl.get("prerequisite")):
                raise _Problem(["excluded", j, "prerequisite"],
                               "required with status 'prerequisite_missing', and only with it")
            if _overlap(rule, excl):
                raise _Problem(["excluded", j], f"overlaps applies_to[{i}] (same OS family, build, SP and arch)")

    archs = {a for rule in data["applies_to"] for a in rule["archs"]}
    for i, row in enumerate(data["files"]):
        _check_file_row(row, ["files", i], archs)
    for i, row in enumerate(data["additional_files"]):
        _check_date(row["date"], ["additional_files", i, "date"])
        if row["package"] not in archs:
            raise _Problem(["additional_files", i, "package"], f"{row['package']!r} is in no applies_to archs ({', '.join(sorted(archs))})")

    for i, rule in enumerate(data["applies_to"]):
        if rule["verify"] == "files":
            for arch in rule["archs"]:
                if not any(_row_covers(row, rule, arch) for row in data["files"]):
                    raise _Problem(
                        ["applies_to", i],
                        f"verify is 'files' but no file row has package {arch}, a version of build "
                        f"{rule['version']} and os covering {', '.join(rule['os'])}",
                    )

    for i, pkg in enumerate(data["packages"]):
        if number not in pkg["file"]:
            raise _Problem(["packages", i, "file"], f"{pkg['file']!r} does not name {kb}")
        if not pkg["file"].lower().endswith("." + pkg["kind"]):
            raise _Problem(["packages", i, "kind"], f"{pkg['kind']!r} does not match the file name {pkg['file']!r}")
        if pkg["arch"] not in archs:
            raise _Problem(["packages", i, "arch"], f"{pkg['arch']!r} is in no applies_to archs ({', '.join(sorted(archs))})")

    for key in ("indicators", "workarounds", "registry_values"):
        seen: set[str] = set()
        for i, item in enumerate(data[key]):
            if item["id"] in seen:
                raise _Problem([key, i, "id"], f"duplicate id {item['id']!r}")
            seen.add(item["id"])
    for i, ind in enumerate(data["indicators"]):
        if ind["kind"] == "pool_tag" and not 1 <= len(ind["target"]) <= 4:
            raise _Problem(["indicators", i, "target"], f"{ind['target']!r} is not a pool tag (1-4 characters)")


def _check_file_row(row: dict[str, Any], where: list[str | int], archs: set[str]) -> None:
    _check_date(row["date"], where + ["date"])
    if row["package"] not in archs:
        raise _Problem(where + ["package"], f"{row['package']!r} is in no applies_to archs ({', '.join(sorted(archs))})")
    version = row["version"]
    if version is None:
        if row["branch"] != "none":
            raise _Problem(where + ["branch"], f"{row['branch']!r} but the row has no version (expected 'none')")
        if row["sr_level"] is not None:
            raise _Problem(where + ["sr_level"], f"{row['sr_level']!r} but the row has no version (expected null)")
        return
    try:
        parsed = WinVersion.parse(version)
    except VersionError as exc:
        raise _Problem(where + ["version"], str(exc)) from None
    if row["branch"] != parsed.branch.value:
        raise _Problem(where + ["branch"], f"{row['branch']!r} does not agree with version {version} (branch {parsed.branch.value})")
    expected_sr = SR_LEVELS.get(parsed.os_version)
    if row["sr_level"] is None or (expected_sr is not None and row["sr_level"] != expected_sr):
        raise _Problem(
            where + ["sr_level"],
            f"{row['sr_level']!r} does not agree with version {version} (build {parsed.os_version} is {expected_sr or 'RTM/SPn'})",
        )
    path = row["path"]
    if path is None:
        raise _Problem(where + ["path"], "required for a row with a version (the engine reads the file there)")
    wow64 = row["platform"] == "x86" and row["package"] != "x86"
    in_wow = "\\syswow64\\" in path.lower()
    if wow64 != in_wow:
        expected = "%SystemRoot%\\SysWOW64" if wow64 else "%SystemRoot%\\System32"
        raise _Problem(where + ["path"], f"{path!r}: an {row['platform']} file of the {row['package']} package belongs under {expected}")
    if path.rsplit("\\", 1)[-1].lower() != row["name"].lower():
        raise _Problem(where + ["path"], f"{path!r} does not end in the file name {row['name']!r}")


def _check_date(text: str, where: list[str | int]) -> None:
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        raise _Problem(where, f"{text!r} is not a calendar date") from None


def _row_covers(row: dict[str, Any], rule: dict[str, Any], arch: str) -> bool:
    if row["version"] is None or row["package"] != arch:
        return False
    return WinVersion.parse(row["version"]).os_version == rule["version"] and set(rule["os"]) <= set(row["os"])


def _overlap(rule: dict[str, Any], excl: dict[str, Any]) -> bool:
    if not set(rule["os"]) & set(excl["os"]) or rule["version"] != excl["version"]:
        return False
    if excl.get("sp") is not None and excl["sp"] != rule["sp"]:
        return False
    excl_archs = excl.get("archs")
    return excl_archs is None or bool(set(excl_archs) & set(rule["archs"]))


# --- typed model --------------------------------------------------------------------------------


def _build(data: dict[str, Any], source: Path) -> KbEntry:
    return KbEntry(
        schema_version=data["schema_version"],
        kb=data["kb"],
        title=data["title"],
        article=data["article"],
        summary=data["summary"],
        restart=data["restart"],
        restart_service=data["restart_service"],
        replaces=list(data["replaces"]),
        prerequisites=list(data["prerequisites"]),
        applies_to=[Applicability(**r) for r in data["applies_to"]],
        excluded=[
            Exclusion(os=e["os"], version=e["version"], sp=e.get("sp"), archs=e.get("archs"), status=e["status"],
                      reason=e["reason"], prerequisite=Prerequisite(**e["prerequisite"]) if e.get("prerequisite") else None)
            for e in data["excluded"]
        ],
        files=[FileRow(**r) for r in data["files"]],
        additional_files=[AdditionalFile(**r) for r in data["additional_files"]],
        registration=Registration(
            kb=data["registration"]["kb"],
            cbs_package_prefix=data["registration"]["cbs_package_prefix"],
            registry_keys=list(data["registration"]["registry_keys"]),
        ),
        registry_values=[RegistryValue(**r) for r in data["registry_values"]],
        packages=[Package(**p) for p in data["packages"]],
        indicators=[
            Indicator(**{**i, "leaking_rate_per_hour": float(i["leaking_rate_per_hour"]),
                         "min_confidence": float(i["min_confidence"]), "min_span_hours": float(i["min_span_hours"]),
                         "min_growth": float(i["min_growth"]),
                         "noise": Noise(float(i["noise"]["wander_per_sqrt_hour"]), float(i["noise"]["jitter"]),
                                        i["noise"]["basis"])})
            for i in data["indicators"]
        ],
        pool_tags=[PoolTag(**t) for t in data.get("pool_tags", [])],
        workarounds=[Workaround(**{"scenario": None, **w}) for w in data["workarounds"]],
        uncertainties=[Uncertainty(**u) for u in data["uncertainties"]],
        source=source,
    )
