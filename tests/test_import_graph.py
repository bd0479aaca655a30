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


def test_the_directory_never_imports_the_channels_or_the_admin_api() -> None:
    edges = graph()
    directory = {
        m: _hits(i, ("handlers", "admin")) for m, i in edges.items() if m.startswith("directory")
    }
    assert {m: i for m, i in directory.items() if i} == {}


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
