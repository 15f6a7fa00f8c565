"""The backends these suites run on: every engine test runs on SQLite (in memory and
in a file) and on PostgreSQL (a schema of its own on the server the test process
starts; skipped, saying why, when PostgreSQL is not installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pg

BACKENDS = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend in turn (see ``pg.store_url``)."""
    return pg.store_url(request.param, tmp_path)
