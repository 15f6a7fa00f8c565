"""The console reaches the service through the Engine's operations only: it imports
nothing of stepfn but itself and the errors the Engine raises (no store, no SQL, no
interpreter), and it is handed the Engine rather than importing one."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "stepfn"
ALLOWED = {"console", "errors"}


def stepfn_imports(path: Path) -> set[str]:
    """The stepfn packages a module imports (absolute imports)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {n.split(".")[1] for n in names if n.startswith("stepfn.")}
    return found


def test_the_console_imports_only_itself_and_errors() -> None:
    files = sorted((SRC / "console").rglob("*.py"))
    assert len(files) >= 5
    for path in files:
        outside = stepfn_imports(path) - ALLOWED
        assert not outside, f"{path.relative_to(SRC)} imports stepfn.{sorted(outside)}"


def test_the_console_holds_no_sql_and_reads_no_store_attribute() -> None:
    for path in (SRC / "console").rglob("*.py"):
        text = Path(path).read_text(encoding="utf-8")
        assert "sqlite3" not in text and "psycopg" not in text, path
        assert ".store" not in text, f"{path.name} reaches past the Engine into its store"
