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
def pg_server() -> Iterator[pg.PostgresServer]:
    """One PostgreSQL server for the session (skips when PostgreSQL is not installed)."""
    if pg.binaries() is None:
        pytest.skip(pg.MISSING)
    with pg.PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def pg_url(pg_server: pg.PostgresServer) -> str:
    """A database for the store tests."""
    return pg_server.create_database("stepfn_tests")


def postgres_store(url: str) -> Store:
    """A store in a new schema of the test database."""
    return open_store(f"{url}?schema=t{next(_schemas)}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        made: Store = SqliteStore(tmp_path / "s.db")
    else:
        made = postgres_store(request.getfixturevalue("pg_url"))
    yield made
    made.close()
