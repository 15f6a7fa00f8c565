"""Definitions stored once: executions refer to their text's row, listings leave it out,
and the migration moves the copies of an existing database into the table."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from stepfn.store import ExecutionQuery, SqliteStore, Store, sqlfile

from .test_store import start

DEFS = ('{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}', '{"StartAt":"B"}')


def test_executions_read_their_definition_and_listings_leave_it_out(store: Store) -> None:
    arns = [start(store, f"d{n}") for n in range(3)]
    arns.append(start(store, "other", definition=DEFS[1]))
    read = [store.get_execution(arn) for arn in arns]
    assert [r.definition for r in read if r] == [read[0].definition] * 3 + [DEFS[1]]  # type: ignore[union-attr]
    assert read[0] is not None and read[0].definition.startswith("{")
    assert {r.definition for r in store.list_executions(ExecutionQuery())} == {""}


def _before_definitions(known: tuple[sqlfile.Migration, ...]) -> int:
    """How many migrations come before the one that made the definitions table."""
    return next(n for n, migration in enumerate(known) if migration.name == "definitions")


def _old_rows(insert: Callable[[str, str], None]) -> None:
    """Executions as a database before definitions held them: two share a text."""
    for n, text in enumerate((DEFS[0], DEFS[1], DEFS[0])):
        insert(f"arn:aws:states:us-east-1:1:execution:sm:e{n}", text)


def test_migrating_sqlite_moves_the_copies(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    known = sqlfile.migrations()
    before = _before_definitions(known)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied REAL)"
    )
    for migration in known[:before]:
        for statement in migration.statements():
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, 0)", (migration.version, migration.name)
        )

    def insert(arn: str, text: str) -> None:
        conn.execute(
            "INSERT INTO executions (arn, state_machine_arn, name, type, status, input, "
            "start_date, definition, role_arn, next_event_id, redrive_count, "
            "state_machine_revision_id) VALUES (?, 'sm', 'n', 'STANDARD', 'RUNNING', '{}', 0, "
            "?, 'r', 1, 0, 'rev')",
            (arn, text),
        )

    _old_rows(insert)
    conn.close()
    store = SqliteStore(path)
    try:
        assert store.applied_migrations == [m.version for m in known[before:]]
        texts = [
            store.get_execution(f"arn:aws:states:us-east-1:1:execution:sm:e{n}") for n in range(3)
        ]
        assert [t.definition for t in texts if t] == [DEFS[0], DEFS[1], DEFS[0]]
    finally:
        store.close()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM definitions").fetchone() == (2,)
    check.close()


@pytest.mark.integration
def test_migrating_postgres_moves_the_copies(pg_url: str) -> None:
    import psycopg

    from stepfn.store.postgres import PostgresStore

    known = sqlfile.migrations("postgres")
    before = _before_definitions(known)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA definitions_old")
        conn.execute("SET search_path TO definitions_old")
        conn.execute(
            PostgresStore.translate(sqlfile.queries("postgres")["create_schema_migrations"])
        )
        for migration in known[:before]:
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (%s, %s, 0)",
                (migration.version, migration.name),
            )

        def insert(arn: str, text: str) -> None:
            conn.execute(
                "INSERT INTO executions (arn, state_machine_arn, name, type, status, input, "
                "start_date, definition, role_arn, next_event_id, redrive_count, "
                "state_machine_revision_id) VALUES (%s, 'sm', 'n', 'STANDARD', 'RUNNING', "
                "'{}', 0, %s, 'r', 1, 0, 'rev')",
                (arn, text),
            )

        _old_rows(insert)
    store = PostgresStore(f"{pg_url}?schema=definitions_old")
    try:
        assert store.applied_migrations == [m.version for m in known[before:]]
        texts = [
            store.get_execution(f"arn:aws:states:us-east-1:1:execution:sm:e{n}") for n in range(3)
        ]
        assert [t.definition for t in texts if t] == [DEFS[0], DEFS[1], DEFS[0]]
        # A new execution of a migrated text refers to the migrated row (same digest).
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("SET search_path TO definitions_old")
            assert conn.execute("SELECT count(*) FROM definitions").fetchone() == (2,)
    finally:
        store.close()
