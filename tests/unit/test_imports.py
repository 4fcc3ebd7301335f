"""The package's import graph: no module imports itself back, and the lab is layered bottom-up.

The graph is read from the source (ast), not by importing: every ``import`` and ``from ... import``
statement of a module under ``src/`` counts, wherever it sits (a function-level import hides a
circle, it does not remove it), except those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> source file, for every module under ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def _resolve(name: str, node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of this source tree it imports (a name that is a submodule counts as that module)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = _resolve(name, node, package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (its modules in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    pending = [start]
    while pending:
        for target in graph[pending.pop()] - seen:
            seen.add(target)
            pending.append(target)
    return seen


GRAPH = _graph(_modules(SRC))


def test_the_graph_is_read_from_the_whole_tree():
    assert "winremedy.lab.host" in GRAPH and "winremedy.cli" in GRAPH
    assert "winremedy.lab.api" in GRAPH["winremedy.lab.host"]


def test_no_module_under_src_is_part_of_an_import_circle():
    cycle = _cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_circle_and_hidden_function_level_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def f():\n    from .a import x\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import y\n")
    graph = _graph(_modules(tmp_path))
    assert _cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]
    assert graph["pkg.c"] == set()  # type-only imports do not run


# The lab bottom-up; a module imports lab modules of its own layer or below. Modules not named here (the wiring:
# emulated, daemon, cli, wsman, local, fleet, ...) form the top layer.
LAB_LAYERS = (
    ("protocols, result types and data", ("api", "clock", "dynamics", "errors", "faults", "filesystem", "layout",
                                          "noise", "profiles", "quirks", "registration", "tokens", "updates")),
    ("host model", ("host",)),
    ("scheduler and programs", ("scheduler", "installers", "restarts", "schtasks")),
    ("script stand-ins", ("collect", "sampler", "stage", "task", "power", "probe", "replay", "acltools")),
    ("command line", ("cmdline", "cmdtools", "console_host")),
)


def _lab_layer(module: str) -> int:
    name = module.removeprefix("winremedy.lab.")
    return next((index for index, (_, names) in enumerate(LAB_LAYERS) if name in names), len(LAB_LAYERS))


def test_every_lab_layer_names_modules_that_exist():
    assert {f"winremedy.lab.{name}" for _, names in LAB_LAYERS for name in names} <= set(GRAPH)


def test_the_lab_host_model_imports_no_program_or_dispatcher():
    """The host model is state: nothing above it (scheduler, programs, stand-ins, command line) is reachable from it."""
    reached = {module for module in _reachable(GRAPH, "winremedy.lab.host") if module.startswith("winremedy.lab.")}
    assert {_lab_layer(module) for module in reached} <= {0}
    assert "winremedy.lab.cmdline" not in reached and "winremedy.lab.scheduler" not in reached


def test_no_lab_module_imports_a_layer_above_its_own():
    upward = [f"{module} ({LAB_LAYERS[_lab_layer(module)][0] if _lab_layer(module) < len(LAB_LAYERS) else 'wiring'})"
              f" -> {target}" for module, targets in GRAPH.items() if module.startswith("winremedy.lab.")
              for target in targets if target.startswith("winremedy.lab.") and _lab_layer(target) > _lab_layer(module)]
    assert upward == []



def test_the_lab_cli_module_loads_no_lab_until_a_command_runs():
    """``winremedy.cli`` may add the lab's commands without loading the emulator (fleet, hosts, WS-Management)."""
    probe = "import sys, winremedy.lab.cli; print(' '.join(sorted(m for m in sys.modules if m.startswith('winremedy'))))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert set(loaded) == {"winremedy", "winremedy.errors", "winremedy.lab", "winremedy.lab.cli",
                           "winremedy.lab.errors", "winremedy.lab.layout"}
