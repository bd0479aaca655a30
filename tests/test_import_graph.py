"""Who may import whom: read from the source, imports inside functions included.

The graph is built with `ast` from every module of the four packages; imports under
`if TYPE_CHECKING:` are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "directory", "handlers", "admin")
# The conversation core: channel-agnostic, so it imports no channel or web framework.
CORE = "bot.core"
FRAMEWORKS = ("aiogram", "twilio", "fastapi", "starlette")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path) -> set[str]:
    """Every module this file imports at run time (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # "from bot import cases" imports the module bot.cases
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    files = [
        p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts
    ]
    modules = {_module_name(p): p for p in files}
    return {name: imports_of(path) for name, path in modules.items()}


def _hits(imported: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in imported if any(m == p or m.startswith(p + ".") for p in prefixes)}


def test_the_core_imports_no_channel_or_web_framework() -> None:
    core = {m: i for m, i in graph().items() if m == CORE or m.startswith(CORE + ".")}
    assert len(core) >= 10
    assert {m: _hits(i, FRAMEWORKS) for m, i in core.items() if _hits(i, FRAMEWORKS)} == {}


def test_lower_layers_never_import_the_channels_or_the_admin_api() -> None:
    """Only the composition root (bot.app) and the command line (bot.cli) sit above them."""
    upward = {m: _hits(i, ("handlers", "admin")) for m, i in graph().items()}
    lower = {m: i for m, i in upward.items() if m.startswith(("bot", "directory")) and i}
    assert {m: i for m, i in lower.items() if m not in ("bot.app", "bot.cli")} == {}


def test_the_context_imports_no_feature() -> None:
    """Any module may take the AppContext, so it may only import the runtime basics."""
    edges = graph()
    imported = _hits(edges["bot.context"], PACKAGES) & set(edges)
    assert imported <= {"bot.clock", "bot.db", "bot.settings"}, imported


def _package(module: str) -> str:
    """bot.cases.handoff -> bot.cases; bot.db -> bot.db (bot's own modules stand alone)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" else parts[0]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while (top := stack.pop()) != node:
                group.append(top)
            if group:
                found.append(sorted([node, *group]))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules_or_packages() -> None:
    edges = graph()
    modules = {m: {d for d in i if d in edges and d != m} for m, i in edges.items()}
    assert _cycles(modules) == []
    packages: dict[str, set[str]] = {}
    for m, imported in modules.items():
        others = {_package(d) for d in imported} - {_package(m)}
        packages.setdefault(_package(m), set()).update(others)
    assert _cycles(packages) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_bot_keeps_a_handful_of_modules() -> None:
    assert len(list((ROOT / "bot").glob("*.py"))) <= 8


def test_the_reader_sees_imports_inside_functions_and_skips_type_checking(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from fastapi import FastAPI\n"
        "def f():\n    from bot import cases\n    import aiogram.types\n",
        encoding="utf-8",
    )
    found = imports_of(sample)
    assert {"bot.cases", "aiogram.types"} <= found and "fastapi" not in found
