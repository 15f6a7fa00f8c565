from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stepfn.service.engine import Engine

from .server import Served, serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A console over an Engine with a real clock, on a SQLite file."""
    path: Path = tmp_path_factory.mktemp("console") / "stepfn.db"
    engine = Engine.open(str(path))
    try:
        with serve(engine) as running:
            yield running
    finally:
        engine.close()
