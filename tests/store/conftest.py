"""The fixture of the store suites: every test runs on ``MemoryStore`` and on
``SqliteStore`` (a file in the test's folder), which must behave alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stepfn.store import MemoryStore, SqliteStore, Store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    yield made
    made.close()
