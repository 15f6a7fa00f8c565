"""``MemoryStore``: the store in memory, for tests and throwaway servers.

It is the SQLite store on a private in-memory database: one implementation of the SQL
semantics rather than two that could drift apart. A store of its own in Python (dicts
re-implementing the queries) was measured against it on the same workload and was not
fast enough to pay for its 860 lines (see ``docs/store.md``).
"""

from __future__ import annotations

from stepfn.store.sqlite import SqliteStore


class MemoryStore(SqliteStore):
    """A store that keeps nothing after it is closed (SQLite's ``:memory:``)."""

    def __init__(self) -> None:
        super().__init__(":memory:")
