"""The Lambda part of the SQL stores: function versions and their aliases.

A function version is kept as a ``FunctionRow``: its configuration as a JSON document
(the functions package defines what it holds; the store only keeps it) and where its
unpacked code lives, with the code's identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepfn.store.sql_core import SqlCore


@dataclass(frozen=True)
class FunctionRow:
    """One stored version of a function."""

    name: str
    version: str
    config: str  # JSON text
    code_digest: str
    code_size: int
    code_location: str
    created: float
    modified: float
    last_published: int = 0


@dataclass(frozen=True)
class FunctionAliasRow:
    """One stored alias of a function."""

    name: str
    alias: str
    version: str
    description: str
    revision_id: str


# The tables, as the core's row helpers name them (neither has JSON columns to decode).
_VERSIONS = "functions"
_ALIASES = "function_aliases"


class SqlFunctions(SqlCore):
    """Function versions and aliases, in SQL."""

    def put_function_version(self, row: FunctionRow) -> None:
        """Add a version, or replace one (its creation time and counter kept)."""
        with self._write() as conn:
            self._put_version(conn, row)

    def get_function_version(self, name: str, version: str) -> FunctionRow | None:
        """One version of a function, or None."""
        values = {"name": name, "version": version}
        return self._one("get_function_version", values, _VERSIONS, FunctionRow)

    def list_function_versions(self, name: str) -> list[FunctionRow]:
        """Every stored version of a function (unordered)."""
        return self._all("list_function_versions", {"name": name}, _VERSIONS, FunctionRow)

    def list_functions_latest(self) -> list[FunctionRow]:
        """The ``$LATEST`` of every function, by name."""
        return self._all("list_functions_latest", {}, _VERSIONS, FunctionRow)

    def publish_function_version(self, name: str, row: FunctionRow) -> None:
        """Store a published version and record its number as the last handed out."""
        with self._write() as conn:
            self._put_version(conn, row)
            conn.execute(
                self._q["set_function_last_published"], {"name": name, "number": int(row.version)}
            )

    def _put_version(self, conn: Any, row: FunctionRow) -> None:
        # The counter of published versions is moved on only by publishing
        # (set_function_last_published): writing a version leaves it as it is.
        params = {k: v for k, v in vars(row).items() if k != "last_published"}
        conn.execute(self._q["put_function_version"], params)

    def delete_function(self, name: str, version: str | None = None) -> None:
        """Remove one version, or (``version`` None) the function with its aliases."""
        with self._write() as conn:
            if version is None:
                conn.execute(self._q["delete_function_aliases"], {"name": name})
                conn.execute(self._q["delete_function_versions"], {"name": name})
                conn.execute(self._q["remove_function_statements"], {"name": name})
            else:
                conn.execute(self._q["delete_function_version"], {"name": name, "version": version})
                conn.execute(
                    self._q["remove_function_version_statements"],
                    {"name": name, "qualifier": version},
                )

    def put_function_alias(self, row: FunctionAliasRow) -> None:
        """Add or replace an alias."""
        with self._write() as conn:
            conn.execute(self._q["put_function_alias"], vars(row))

    def get_function_alias(self, name: str, alias: str) -> FunctionAliasRow | None:
        """One alias of a function, or None."""
        values = {"name": name, "alias": alias}
        return self._one("get_function_alias", values, _ALIASES, FunctionAliasRow)

    def list_function_aliases(self, name: str) -> list[FunctionAliasRow]:
        """A function's aliases, by name."""
        return self._all("list_function_aliases", {"name": name}, _ALIASES, FunctionAliasRow)

    def delete_function_alias(self, name: str, alias: str) -> None:
        """Remove an alias (nothing when missing)."""
        with self._write() as conn:
            conn.execute(self._q["delete_function_alias"], {"name": name, "alias": alias})

    # resource policies ------------------------------------------------------------------

    def add_function_statement(self, name: str, qualifier: str, sid: str, statement: str) -> bool:
        """Add a statement (JSON text) to the policy of a function or qualifier (``""``:
        the function itself); False when one with that ``sid`` is there already."""
        params = {"name": name, "qualifier": qualifier, "sid": sid, "statement": statement}
        with self._write() as conn:
            found = conn.execute(
                self._q["function_statements"], {"name": name, "qualifier": qualifier}
            ).fetchall()
            if any(row[0] == sid for row in found):
                return False
            conn.execute(self._q["add_function_statement"], params)
        return True

    def function_statements(self, name: str, qualifier: str) -> list[tuple[str, str]]:
        """(sid, statement JSON) of a policy, in the order they were added."""
        with self._read() as conn:
            found = conn.execute(
                self._q["function_statements"], {"name": name, "qualifier": qualifier}
            ).fetchall()
        return [(str(sid), str(statement)) for sid, statement in found]

    def remove_function_statement(self, name: str, qualifier: str, sid: str) -> bool:
        """Remove one statement; False when there was none with that ``sid``."""
        params = {"name": name, "qualifier": qualifier, "sid": sid}
        with self._write() as conn:
            return int(conn.execute(self._q["remove_function_statement"], params).rowcount) > 0

    def remove_function_policy(self, name: str, qualifier: str) -> None:
        """Drop the whole policy of a qualifier (its alias was deleted)."""
        with self._write() as conn:
            conn.execute(
                self._q["remove_function_version_statements"],
                {"name": name, "qualifier": qualifier},
            )
