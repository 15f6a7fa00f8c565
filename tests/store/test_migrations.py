"""The migrations build exactly the schema the store expects, once.

``schema.sql`` records the schema as all migrations together leave it. A database
migrated from empty is compared with one made from ``schema.sql`` by structure (columns,
keys, indexes, foreign keys), not by the text SQLite keeps, which a later ``ALTER TABLE``
would make differ from a fresh ``CREATE TABLE`` with the same meaning.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepfn.store import SqliteStore, StoreError, sqlfile
from stepfn.store.sqlite import migrate

# The whole SQLite schema written out for readers, kept in step with the migrations here.
SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "sqlite-schema.sql"


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    yield connection
    connection.close()


def describe(connection: sqlite3.Connection) -> dict[str, Any]:
    """Everything about a database's schema that a query can depend on."""
    schema: dict[str, Any] = {}
    objects = connection.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY name"
    ).fetchall()
    for kind, name, table, sql in objects:
        if kind == "table":
            (listing,) = connection.execute(
                "SELECT type, wr, strict FROM pragma_table_list WHERE name = ?", (name,)
            ).fetchall()
            indexes = connection.execute(f"PRAGMA index_list('{name}')").fetchall()
            schema[name] = {
                "listing": listing,
                "columns": connection.execute(f"PRAGMA table_xinfo('{name}')").fetchall(),
                "foreign_keys": connection.execute(f"PRAGMA foreign_key_list('{name}')").fetchall(),
                # seq is the order indexes were made in, not part of their meaning.
                "indexes": sorted(
                    (
                        *row[1:],
                        connection.execute(f"PRAGMA index_xinfo('{row[1]}')").fetchall(),
                    )
                    for row in indexes
                ),
            }
        else:
            # Indexes (their partial WHERE lives only in the text), views, triggers.
            schema[f"{kind}:{name}"] = (table, " ".join(sql.split()))
    return schema


def test_all_migrations_give_exactly_the_recorded_schema(conn: sqlite3.Connection) -> None:
    applied = migrate(conn)
    assert applied == [m.version for m in sqlfile.migrations()]
    recorded = sqlite3.connect(":memory:")
    try:
        recorded.executescript(SCHEMA_DOC.read_text(encoding="utf-8"))
        assert describe(conn) == describe(recorded)
    finally:
        recorded.close()
    assert "events" in describe(conn)


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    versions = [m.version for m in sqlfile.migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_reopening_an_up_to_date_database_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SqliteStore(path)
    assert first.applied_migrations == [m.version for m in sqlfile.migrations()]
    first.close()
    second = SqliteStore(path)
    try:
        assert second.applied_migrations == []
    finally:
        second.close()
    with sqlite3.connect(path) as check:
        rows = check.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(v, n) for v, n in rows] == [(m.version, m.name) for m in sqlfile.migrations()]
    check.close()


def test_moving_events_to_a_rowid_table_keeps_every_event(conn: sqlite3.Connection) -> None:
    first, second = sqlfile.migrations()[:2]
    conn.execute("PRAGMA foreign_keys = ON")
    for statement in first.statements():
        conn.execute(statement)
    conn.execute(
        "INSERT INTO executions (arn, state_machine_arn, name, type, status, input, "
        "start_date, definition, role_arn, next_event_id, redrive_count, "
        "state_machine_revision_id) VALUES ('e', 'sm', 'n', 'STANDARD', 'RUNNING', '{}', 0, "
        "'{}', 'r', 3, 0, 'rev')"
    )
    rows = [("e", 2, 1, 1.5, "PassStateEntered", '{"input":"{}"}'), ("e", 1, 0, 1.0, "X", None)]
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
    for statement in second.statements():
        conn.execute(statement)
    moved = conn.execute("SELECT * FROM events ORDER BY execution_arn, id").fetchall()
    assert moved == sorted(rows, key=lambda row: row[1])
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_database_from_a_newer_stepfn_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    SqliteStore(path).close()
    newer = len(sqlfile.migrations()) + 1
    with sqlite3.connect(path) as edit:
        edit.execute("INSERT INTO schema_migrations VALUES (?, 'future', 0)", (newer,))
    edit.close()
    with pytest.raises(StoreError, match="newer"):
        SqliteStore(path)


def test_a_failing_migration_leaves_the_database_as_it_was(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = sqlfile.Migration(1, "broken", "CREATE TABLE kept (a);\nCREATE TABLE kept (b);\n")
    monkeypatch.setattr(sqlfile, "migrations", lambda dialect="sqlite": (broken,))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn)
    assert not conn.in_transaction
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"schema_migrations"}
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (0,)


def test_every_named_query_compiles_against_the_schema(conn: sqlite3.Connection) -> None:
    migrate(conn)
    queries = sqlfile.queries()
    # Condition fragments are tried inside the queries they go into, all at once.
    fragments = "".join(
        sqlfile.fragment(sql) for name, sql in queries.items() if name.startswith("log_filter_")
    )
    for name, sql in queries.items():
        if name.startswith("log_filter_"):
            continue
        sql = sql.replace("{filters}", fragments if name.startswith("log_events") else "")
        names = set(re.findall(r"(?<!:):([a-z_]+)", sql))
        params: Any = dict.fromkeys(names) if names else (None,) * sql.count("?")
        # EXPLAIN prepares the statement (every table and column must exist) without
        # running it.
        conn.execute("EXPLAIN " + sql, params)
        assert name


# --- the SQL file readers -----------------------------------------------------------------


def test_named_queries_split_on_name_lines() -> None:
    text = "-- header\n\n-- name: one\nSELECT 1;\n\n-- name: two\n-- why\nSELECT\n  2;\n"
    assert sqlfile.parse_named_queries(text) == {"one": "SELECT 1;", "two": "-- why\nSELECT\n  2;"}
    with pytest.raises(ValueError, match="twice"):
        sqlfile.parse_named_queries("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")
    with pytest.raises(ValueError, match="no SQL"):
        sqlfile.parse_named_queries("-- name: a\n\n-- name: b\nSELECT 2;\n")


def test_statements_split_where_sqlite_says_they_end() -> None:
    script = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (a TEXT DEFAULT ';');\n"
        "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN\n"
        "    UPDATE t SET a = 'x;y';\n"
        "END;\n"
        "-- trailing comment\n"
    )
    statements = sqlfile.split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        sqlfile.split_statements("CREATE TABLE t (a)")


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.integration
def test_postgres_migrations_give_sqlites_tables_and_columns(pg_url: str) -> None:
    import psycopg

    from stepfn.store.postgres import PostgresStore

    first = PostgresStore(f"{pg_url}?schema=migrations_a")
    assert first.applied_migrations == [m.version for m in sqlfile.migrations("postgres")]
    first.close()
    again = PostgresStore(f"{pg_url}?schema=migrations_a")
    assert again.applied_migrations == []
    again.close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'migrations_a' AND table_name != 'schema_migrations'"
        ).fetchall()
    postgres: dict[str, set[str]] = {}
    for table, column in rows:
        postgres.setdefault(table, set()).add(column)
    with sqlite3.connect(":memory:", isolation_level=None) as lite:
        migrate(lite)
        tables = [
            name
            for (name,) in lite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
            )
        ]
        sqlite_columns = {
            table: {row[1] for row in lite.execute(f"PRAGMA table_info({table})")}
            for table in tables
        }
    # PostgreSQL's tables add a rowid column where SQLite has an implicit one.
    assert {t: c - {"rowid"} for t, c in postgres.items()} == sqlite_columns


@pytest.mark.integration
def test_every_named_query_prepares_on_postgres(pg_url: str) -> None:
    import psycopg

    from stepfn.store.postgres import PostgresStore

    PostgresStore(f"{pg_url}?schema=migrations_b").close()
    queries = sqlfile.queries("postgres")
    fragments = "".join(
        sqlfile.fragment(sql) for name, sql in queries.items() if name.startswith("log_filter_")
    )
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET search_path TO migrations_b")
        for name, sql in queries.items():
            if name.startswith("log_filter_") or name == "create_schema_migrations":
                continue
            sql = sql.replace("{filters}", fragments if name.startswith("log_events") else "")
            text = PostgresStore.translate(sql).rstrip().rstrip(";")
            # PREPARE parses and plans the statement without running it; the
            # placeholders become $n parameters of unknown type.
            numbers = itertools.count(1)
            numbered = re.sub(r"%\(\w+\)s|%s", lambda _, n=numbers: f"${next(n)}", text)
            conn.execute(f"PREPARE q AS {numbered}".replace("%%", "%"))
            conn.execute("DEALLOCATE q")
