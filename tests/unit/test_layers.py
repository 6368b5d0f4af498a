"""The package layers of docs/architecture.md, checked on the source: no upward import, no circle.

Every import counts, including those inside functions (a lazy import can hide a circle
as well as a module-level one); only `if TYPE_CHECKING:` blocks are left out.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import mailbot

pytestmark = pytest.mark.no_database

ROOT = Path(mailbot.__file__).parent

# Lowest first. A unit (a top-level module or package of mailbot) may import units of
# its own layer or of lower layers, never of a higher one.
LAYERS: list[set[str]] = [
    {"__init__", "errors", "config_types", "message", "resources", "logsetup", "text"},
    {"config"},
    {"storage"},
    {"sources", "parse"},
    {"triage", "trust"},
    {"outgoing"},
    {"items", "accounts"},
    {"connectors"},
    {"pipeline"},
    {"reports"},
    {"app"},
    {"ops"},
    {"daemon", "demo", "replay", "web", "onboarding"},
    {"cli"},
    {"__main__"},
]
LAYER = {unit: depth for depth, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(path: Path, name: str | None = None) -> set[str]:
    """The mailbot modules `path` (the module `name`) imports, resolved to module names."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from mailbot.x import y` may import the submodule mailbot.x.y.
            found.update(f"{target}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return {m for m in found if m == "mailbot" or m.startswith("mailbot.")}


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def mailbot_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module → the mailbot modules it imports that exist as files."""
    modules = mailbot_modules()
    return {
        name: {m for m in imported_modules(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of modules around it; None if there is none."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour: dict[str, int] = defaultdict(int)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour[nxt] == GREY:
                return [*stack[stack.index(nxt) :], nxt]
            if colour[nxt] == WHITE and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE and (cycle := visit(node)):
            return cycle
    return None


def test_every_unit_has_a_layer() -> None:
    units = {unit_of(name) for name in mailbot_modules()}
    missing = sorted(units - set(LAYER))
    assert not missing, f"add {missing} to LAYERS here and to docs/architecture.md"


def test_no_unit_imports_a_higher_one() -> None:
    upward = []
    for name, imports in import_graph().items():
        here = unit_of(name)
        for target in imports:
            there = unit_of(target)
            # A package's own __init__ re-exports are not an upward import.
            if there != here and LAYER[there] > LAYER[here] and target != "mailbot":
                upward.append(f"{name} imports {target} ({there} is above {here})")
    assert not upward, "\n".join(sorted(upward))


def test_no_import_circle() -> None:
    graph = import_graph()
    # A package __init__ that re-exports from its submodules, imported by those same
    # submodules for a name it defines itself, is one module in two files: drop the
    # edges from an __init__ to its own submodules.
    for name, path in mailbot_modules().items():
        if path.name == "__init__.py":
            graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " → ".join(cycle or [])


def test_the_checker_sees_a_circle_and_an_upward_import() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert LAYER["storage"] < LAYER["pipeline"]  # so storage → pipeline is reported


def test_imports_inside_functions_and_relative_ones_are_seen(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from mailbot.cli import main\n"
        "def f():\n    from mailbot.pipeline import machine\n"
        "from . import store\n",
        encoding="utf-8",
    )
    found = imported_modules(source, "mailbot.items.probe")
    assert "mailbot.pipeline.machine" in found
    assert "mailbot.items.store" in found
    assert not any(m.startswith("mailbot.cli") for m in found)
