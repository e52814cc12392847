"""The package's shape: no import cycles (between modules or between packages), no module over
500 lines, and the picture in docs/architecture.md is the package-level import graph.

The graph is built from the source with ``ast``: every import a module runs when it is
loaded (module level, including ``from . import x`` and imports under ``if``/``try``), but not
imports inside functions (they run later, on purpose) nor under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "plugin" / "framescope"
ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = ["framescope", *path.relative_to(PACKAGE_ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _load_time_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _load_time_imports(node.body)
            found += _load_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += _load_time_imports(block)
        elif isinstance(node, ast.With):
            found += _load_time_imports(node.body)
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The framescope modules ``name`` imports when it is loaded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _load_time_imports(tree.body):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:
            base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in modules else base)
    resolved = set()
    for target in targets:
        while target and target not in modules:  # ``import a.b.c`` of a name inside a module
            target = target.rpartition(".")[0]
        if target.startswith("framescope") and target != name:
            resolved.add(target)
    return resolved


def module_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def unit_of(module: str) -> str:
    """A module's unit in the package picture: its subpackage, or itself at the top level."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "framescope"  # ``framescope`` is the root __init__


#: Units any package may import without it being drawn: the one error hierarchy.
UNDRAWN = frozenset({"errors"})


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph().items():
        unit = unit_of(module)
        graph.setdefault(unit, set()).update(unit_of(t) for t in targets if unit_of(t) != unit)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_relative_absolute_and_guarded_imports(tmp_path, monkeypatch):
    package = tmp_path / "framescope"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from framescope.sub import b\n")
    (package / "sub" / "__init__.py").write_text("from . import b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from framescope import c\n"
        "try:\n    from ..c import thing\nexcept ImportError:\n    pass\n"
        "def later():\n    import framescope.d\n"
    )
    (package / "c.py").write_text("import framescope.sub.b\n")
    (package / "d.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE_ROOT", package)
    graph = module_graph()
    assert graph["framescope.sub.b"] == {"framescope.c"}
    assert graph["framescope.sub"] == {"framescope.sub.b"}
    assert graph["framescope.c"] == {"framescope.sub.b"}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"framescope.c", "framescope.sub.b"}


def test_no_module_imports_itself_back():
    assert find_cycle(module_graph()) is None


def test_no_package_imports_itself_back():
    assert find_cycle(package_graph()) is None


@pytest.mark.parametrize("name", sorted(all_modules()))
def test_no_module_is_over_500_lines(name):
    lines = all_modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by job (limit {MAX_LINES})"


def pictured_edges() -> set[tuple[str, str]]:
    """The ``a -> b`` lines of the import-graph block in docs/architecture.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = text.split("<!-- import-graph -->", 1)[1].split("```", 2)[1]
    edges = set()
    for line in block.splitlines():
        match = re.fullmatch(r"\s*(\S+)\s+->\s+(.+?)\s*", line)
        if match:
            edges.update((match[1], target.strip()) for target in match[2].split(","))
    return edges


def test_the_architecture_picture_is_the_package_import_graph():
    actual = {
        (unit, target) for unit, targets in package_graph().items() for target in targets if target not in UNDRAWN
    }
    pictured = pictured_edges()
    assert pictured == actual, (
        f"docs/architecture.md is out of date; missing: {sorted(actual - pictured)}, "
        f"not in the code: {sorted(pictured - actual)}"
    )


def test_only_tests_and_benchmarks_use_the_test_doubles():
    importers = sorted(unit for unit, targets in package_graph().items() if "testing" in targets)
    assert importers == [], f"{importers} import framescope.testing, which holds test doubles only"
