"""A damaged SQLite file is refused with a clear message naming it, and a store that
finds damage while running marks itself unhealthy and refuses writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from stepfn.store import (
    ExecutionQuery,
    ExecutionRecord,
    NewStart,
    SqliteStore,
    StoreDamaged,
    StoredEvent,
    StoreError,
)

SM = "arn:aws:states:us-east-1:123456789012:stateMachine:S"


def _execution(index: int) -> ExecutionRecord:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:S:e{index}"
    return ExecutionRecord(
        arn=arn,
        state_machine_arn=SM,
        name=f"e{index}",
        type="STANDARD",
        status="RUNNING",
        input="{" + '"pad":"' + "x" * 2000 + '"}',
        start_date=float(index),
        definition="{}",
    )


def _filled(path: Path, count: int = 300) -> None:
    """A database of many pages (each execution's input is ~2 kB)."""
    store = SqliteStore(path)
    for index in range(count):
        store.create_execution(
            NewStart(_execution(index), [StoredEvent(1, 0, 0.0, "ExecutionStarted")])
        )
    store.close()
    # The WAL folded into the main file, so that damaging the file damages the data.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _garble_middle(path: Path) -> None:
    """Garbage over pages in the middle of the file (the header left intact)."""
    size = path.stat().st_size
    page = 4096
    assert size > 20 * page
    with path.open("r+b") as file:
        for start in range(size // 3, 2 * size // 3, page * 3):
            file.seek(start)
            file.write(b"\xde\xad\xbe\xef" * (page // 4))


def test_garbage_in_the_middle_is_refused_on_opening(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    _filled(path)
    _garble_middle(path)
    with pytest.raises(StoreDamaged) as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value)
    assert "damaged" in str(caught.value)
    assert isinstance(caught.value, StoreError)


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 20)
    with pytest.raises(StoreDamaged, match="is not a SQLite database") as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value)


def test_an_intact_file_opens_healthy(tmp_path: Path) -> None:
    path = tmp_path / "fine.db"
    _filled(path, 30)
    store = SqliteStore(path)
    assert store.healthy and store.health() is None
    assert len(store.list_executions(ExecutionQuery(SM))) == 30
    store.close()


def test_damage_found_while_running_marks_the_store_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    _filled(path)
    # Opened while intact: the damage done next is found only by the queries that meet it.
    store = SqliteStore(path)
    _garble_middle(path)
    # SQLite's page cache may hold clean copies: a new connection reads the file.
    store._conn.close()
    store._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    with pytest.raises(StoreDamaged) as caught:
        for _ in range(3):
            store.list_executions(ExecutionQuery(SM))
            for index in range(300):
                store.get_execution(_execution(index).arn)
    assert str(path) in str(caught.value)
    reason = store.health()
    assert reason is not None and str(path) in reason and not store.healthy
    # Writes are refused rather than made into the damaged file.
    with pytest.raises(StoreDamaged, match="refuses writes"):
        store.create_execution(
            NewStart(_execution(999), [StoredEvent(1, 0, 0.0, "ExecutionStarted")])
        )
    store.close()


def test_big_files_skip_the_page_check_on_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.db"
    _filled(path)
    _garble_middle(path)
    monkeypatch.setattr("stepfn.store.sqlite.QUICK_CHECK_MAX_BYTES", 1024)
    # Opening reads the header and schema only; the damage shows when a query meets it.
    store = SqliteStore(path)
    with pytest.raises(StoreDamaged):
        store.list_executions(ExecutionQuery(SM))
    assert not store.healthy
    store.close()
