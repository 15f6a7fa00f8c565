"""The fixture of the store suites: every test runs on ``SqliteStore`` (a file in the
test's folder) and on ``PostgresStore`` (a schema of its own on a real PostgreSQL server
that the session starts), which must behave alike. ``memory://`` is SQLite in memory:
the same code as the file."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stepfn.store import SqliteStore, Store, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pg

_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test database of the PostgreSQL server shared by the suites (skips when
    PostgreSQL is not installed)."""
    return pg.shared_url()


def postgres_store(url: str) -> Store:
    """A store in a new schema of the test database."""
    return open_store(f"{url}?schema=s{next(_schemas)}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        made: Store = SqliteStore(tmp_path / "s.db")
    else:
        made = postgres_store(request.getfixturevalue("pg_url"))
    yield made
    made.close()
