"""The dependency rule of DESIGN.md, checked by walking the imports of every module.

Each layer names the stepfn packages (or leaf modules) it may import. The pure layers
(``lang``, ``definition``, ``interp``) see only the leaves below them; ``store`` sees
nothing of the engine; ``durable`` and ``service`` sit on the interpreter, the store and
the task adapters; the Engine facade (``service/engine.py``) composes the services, and
the thin layers (``api``, ``console``, ``deploy``, ``cli``) reach the rest only through
it. Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are not
counted. Only ``store`` holds SQL.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "stepfn"

LEAVES = {"errors", "clock", "arns", "validation", "jsontext"}
PURE = LEAVES | {"lang", "definition", "interp"}
# The thin layers may use the expression languages' pure helpers (limits, escapes).
THIN = LEAVES | {"lang", "api", "console", "deploy", "facade"}

# Layer -> the stepfn packages it may import ("facade" is ``service/engine.py``).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "clock": set(),
    "jsontext": set(),
    "arns": {"errors"},
    "validation": {"errors"},
    "lang": {"errors", "clock"},
    "definition": {"errors", "clock", "arns", "lang"},
    "interp": PURE,
    "store": {"errors", "clock", "jsontext"},
    "tasks": PURE | {"functions"},
    "functions": LEAVES,
    "durable": PURE | {"store", "tasks"},
    "logs": PURE | {"store", "durable"},
    "service": PURE | {"store", "tasks", "durable", "logs", "functions"},
    "teststate": PURE | {"tasks", "durable", "service"},
    "facade": PURE
    | {"store", "tasks", "durable", "logs", "service", "teststate", "functions", "testing"},
    # Mock files, time control and the pytest plugin (which opens an Engine of its own).
    "testing": PURE | {"tasks", "facade", "python_api"},
    "api": THIN,
    "console": THIN,
    "deploy": THIN,
    "cli": THIN | {"cli", "python_api", "testing"},
    "python_api": PURE | {"tasks", "durable"},
    "main": {"cli"},
}


def layer_of(path: Path) -> str:
    """The layer a module belongs to."""
    rel = path.relative_to(SRC)
    if rel == Path("service/engine.py"):
        return "facade"
    if rel == Path("__init__.py"):
        return "python_api"
    if rel == Path("__main__.py"):
        return "main"
    return rel.parts[0].removesuffix(".py")


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports guarded by ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        lines.add(sub.lineno)
    return lines


def stepfn_imports(path: Path) -> set[str]:
    """The stepfn layers a module imports (``import stepfn`` is the Python API)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in guarded:
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "stepfn" and node.level == 0:
            # ``from stepfn import errors``: the names are modules (or the Python API's).
            names = [f"stepfn.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != "stepfn":
                continue
            if len(parts) == 1 or (not (SRC / parts[1]).exists() and parts[1] not in ALLOWED):
                found.add("python_api")  # ``import stepfn``, ``from stepfn import run``
            elif parts[1:3] == ["service", "engine"]:
                found.add("facade")
            else:
                found.add(parts[1])
    return found


MODULES = sorted(SRC.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    unknown = {str(p.relative_to(SRC)) for p in MODULES if layer_of(p) not in ALLOWED}
    assert not unknown, f"modules outside every layer: {sorted(unknown)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_stay_within_its_layer(path: Path) -> None:
    layer = layer_of(path)
    outside = stepfn_imports(path) - ALLOWED[layer] - {layer}
    assert not outside, f"{path.relative_to(SRC)} ({layer}) imports stepfn.{sorted(outside)}"


def test_the_service_never_imports_the_thin_layers() -> None:
    for path in MODULES:
        if layer_of(path) in ("service", "durable", "facade", "teststate", "logs"):
            assert not stepfn_imports(path) & {"api", "console", "deploy", "cli"}, path


def test_the_layering_check_catches_a_violation(tmp_path: Path) -> None:
    # The walk must see a forbidden import (or every test above passes vacuously).
    module = tmp_path / "m.py"
    module.write_text("from stepfn.store.base import Store\nimport stepfn.interp.machine\n")
    assert stepfn_imports(module) == {"store", "interp"}


def test_sql_lives_only_in_the_store() -> None:
    for path in MODULES:
        if "store" in path.relative_to(SRC).parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert "import sqlite3" not in text and "psycopg" not in text, path
