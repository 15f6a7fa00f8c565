"""The dependency rule of DESIGN.md, checked by walking the imports.

``lang`` (the expression languages) imports nothing of stepfn but ``errors`` and
``clock``; ``definition`` adds ``lang``; ``interp`` adds ``definition``; ``functions``
(the Lambda runtimes) imports nothing else of stepfn, and ``tasks`` may use it. Only ``store``
may hold SQL, and the thin layers (``api``, ``console``, ``cli``) do not reach past the
runtime into the interpreter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "stepfn"

ALLOWED = {
    "lang": {"errors", "clock", "lang"},
    "definition": {"errors", "clock", "lang", "definition"},
    "interp": {"errors", "clock", "lang", "definition", "interp"},
    # The function runtimes are a leaf (processes and pipes, nothing of the engine) that
    # the task adapters build on.
    "functions": {"functions"},
    "tasks": {"errors", "clock", "lang", "definition", "interp", "tasks", "functions"},
}


def stepfn_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "stepfn" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_stay_within_its_layer(package: str) -> None:
    files = sorted((SRC / package).rglob("*.py"))
    assert files, f"no modules in {package}"
    for path in files:
        outside = stepfn_imports(path) - ALLOWED[package]
        assert not outside, f"{path.relative_to(SRC)} imports stepfn.{sorted(outside)}"


def test_sql_lives_only_in_the_store() -> None:
    for path in SRC.rglob("*.py"):
        if "store" in path.relative_to(SRC).parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert "import sqlite3" not in text and "psycopg" not in text, path
