"""Reading the store's SQL from the ``.sql`` files that sit beside this module.

SQL is kept out of the Python so that it can be read, diffed and tried in a SQL shell as
it is. Two kinds of file are read here:

- ``queries/common.sql``, ``queries/<dialect>.sql``: named queries, each a block that
  starts with a ``-- name: <name>`` line and runs up to the next such line::

      -- name: get_activity
      SELECT arn, name, creation_date FROM activities WHERE arn = :arn;

  ``common.sql`` holds what SQLite and PostgreSQL share; a dialect file only the
  queries whose text differs, and every dialect file names the same ones. A shared
  query that differs by a word or a clause only names it as a ``{word}`` of
  ``DIALECT_WORDS``, which each dialect fills in.

- ``migrations/<dialect>/NNNN_<what>.sql``: the numbered schema migrations of a dialect,
  applied in order.

Files are read once per process and cached: the store looks its statements up by name on
every call, and the same text object each time lets sqlite3 reuse its prepared statement.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

_PACKAGE = "stepfn.store"
_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")
_MIGRATION_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


def parse_named_queries(text: str) -> dict[str, str]:
    """Split the text of a queries file into ``{name: sql}``.

    Text before the first ``-- name:`` line (a file header) is ignored; comment lines
    inside a block stay in its SQL. A name used twice is an error, since the second block
    would silently replace the first.
    """
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []

    def close_block() -> None:
        if name is None:
            return
        sql = "\n".join(lines).strip()
        if not sql:
            raise ValueError(f"query {name!r} has no SQL")
        queries[name] = sql

    for line in text.splitlines():
        match = _NAME_LINE.match(line.strip())
        if match is None:
            lines.append(line)
            continue
        close_block()
        name = match["name"]
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        lines = []
    close_block()
    return queries


DIALECTS = ("sqlite", "postgres")

# What the ``{word}``s of common.sql stand for in each dialect: where the two differ by a
# word or a clause, one shared text beats two copies that must be kept in step.
DIALECT_WORDS: dict[str, dict[str, str]] = {
    "sqlite": {
        # SQLite has one writer at a time: nothing else can take a row meanwhile.
        "{skip_locked}": "",
        # The scalar forms of min() and max() (NULL when an argument is).
        "{least}": "min",
        "{greatest}": "max",
    },
    "postgres": {
        # Rows another server is taking are skipped rather than waited for.
        "{skip_locked}": "FOR UPDATE SKIP LOCKED",
        "{least}": "least",
        "{greatest}": "greatest",
    },
}


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ValueError(f"no SQL dialect {dialect!r}: one of {', '.join(DIALECTS)}")


def _read(*parts: str) -> str:
    entry = resources.files(_PACKAGE)
    for part in parts:
        entry = entry.joinpath(part)
    return entry.read_text(encoding="utf-8")


@functools.cache
def dialect_queries(dialect: str) -> dict[str, str]:
    """The named queries of one dialect's own file (``queries/<dialect>.sql``)."""
    _check_dialect(dialect)
    return parse_named_queries(_read("queries", f"{dialect}.sql"))


@functools.cache
def queries(dialect: str = "sqlite") -> dict[str, str]:
    """Every named query of a dialect: the shared ones (their ``DIALECT_WORDS`` filled
    in) and its own.

    A name in both the shared file and the dialect's is an error: one of the two texts
    would be dead, and which one is read would be a matter of order.
    """
    _check_dialect(dialect)
    common = {
        name: _fill_words(sql, DIALECT_WORDS[dialect])
        for name, sql in parse_named_queries(_read("queries", "common.sql")).items()
    }
    own = dialect_queries(dialect)
    both = sorted(set(common) & set(own))
    if both:
        raise ValueError(f"queries in both common.sql and {dialect}.sql: {', '.join(both)}")
    return {**common, **own}


def _fill_words(sql: str, words: dict[str, str]) -> str:
    for word, text in words.items():
        sql = sql.replace(word, text)
    return sql


def fragment(sql: str) -> str:
    """A condition fragment of the query files as it goes inside a line of a query:
    without its comment lines (which would swallow the rest of that line), on one line."""
    kept = [line.strip() for line in sql.splitlines() if not line.strip().startswith("--")]
    return " " + " ".join(line for line in kept if line)


@dataclass(frozen=True)
class Migration:
    """One numbered migration file."""

    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file's SQL statements, one by one."""
        return split_statements(self.sql)


@functools.cache
def migrations(dialect: str = "sqlite") -> tuple[Migration, ...]:
    """The migrations of ``migrations/<dialect>/``, in version order.

    Versions must run 1, 2, 3, ... without gaps or repeats: a gap usually means a file
    was misnamed, and a database migrated past it could never be brought in step.
    """
    _check_dialect(dialect)
    folder = resources.files(_PACKAGE).joinpath("migrations").joinpath(dialect)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            continue
        found.append(
            Migration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8"))
        )
    found.sort(key=lambda migration: migration.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise ValueError(f"migration {expected:04d} is missing (found {migration.version:04d})")
    return tuple(found)


def split_statements(script: str) -> list[str]:
    """Split a SQL script into statements.

    The store runs a migration statement by statement inside its own transaction, since
    ``executescript`` would commit first. Lines are gathered until SQLite itself says the
    text is a complete statement, so semicolons inside strings or trigger bodies do not
    split. Comment-only text is dropped.
    """
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if _has_sql(statement):
                statements.append(statement)
            pending = ""
    if _has_sql(pending):
        raise ValueError(f"incomplete SQL statement at the end of the script: {pending.strip()!r}")
    return statements


def _has_sql(text: str) -> bool:
    """Whether ``text`` holds anything but blanks and ``--`` comments."""
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())
