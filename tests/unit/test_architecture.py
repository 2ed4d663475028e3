"""The package's import direction, as docs/architecture.md draws it: each layer imports only from layers below."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "sophos_sync"


def _layers() -> list[set[str]]:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- import layers -->\n```\n(.*?)```", doc, re.S).group(1)
    return [{name.strip() for name in line.split(",")} for line in block.strip().splitlines()]


def _unit(module: str) -> str | None:
    """The part of the package a module belongs to: its subpackage, or its own name for a top-level module."""
    parts = module.split(".")
    return parts[1] if parts[0] == "sophos_sync" and len(parts) > 1 and parts[1] != "__init__" else None


def _imports() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) -> the files where that import stands, lazy imports included."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        source = _unit(".".join(relative.parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = (
                    [node.module]
                    if node.module != "sophos_sync"
                    else [f"sophos_sync.{alias.name}" for alias in node.names]
                )
            else:
                continue
            for target in targets:
                unit = _unit(target)
                if unit and source and unit != source:
                    found.setdefault((source, unit), []).append(str(path.relative_to(ROOT)))
    return found


def test_every_part_of_the_package_has_its_layer():
    units = {_unit(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")}
    placed = set().union(*_layers())
    assert units - {None} - placed == set()
    assert placed - units == set()


def test_imports_go_one_way_down_the_layers():
    rank = {name: depth for depth, layer in enumerate(_layers()) for name in layer}
    upward = {
        f"{source} -> {target} ({', '.join(sorted(set(files)))})"
        for (source, target), files in _imports().items()
        if rank[target] <= rank[source]
    }
    assert upward == set()
