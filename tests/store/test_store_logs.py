"""Log groups, streams and events, on every store (the suite of test_store.py, for logs).

Each test runs on ``MemoryStore`` and on ``SqliteStore``: they must agree on order,
filters and errors, down to ties between events of the same millisecond.
"""

from __future__ import annotations

import pytest

from stepfn.store import Conflict, Store, StoreError
from stepfn.store.base import LogEventRecord, LogGroupRecord, LogQuery, LogStreamRecord


def event(
    stream: str, timestamp: int, message: str, group: str = "g", at: int = 5000
) -> LogEventRecord:
    return LogEventRecord(group, stream, timestamp, message, ingestion_time=at)


def messages(events: list[LogEventRecord]) -> list[str]:
    return [e.message for e in events]


# --- groups and streams ------------------------------------------------------------------------


def test_log_groups_are_created_listed_by_prefix_and_updated(store: Store) -> None:
    store.create_log_group(LogGroupRecord("/aws/vendedlogs/states/b", 10))
    store.create_log_group(LogGroupRecord("/aws/vendedlogs/states/a", 20, retention_in_days=7))
    store.create_log_group(LogGroupRecord("other_1", 30))
    with pytest.raises(Conflict):
        store.create_log_group(LogGroupRecord("other_1", 40))
    assert [g.name for g in store.list_log_groups()] == [
        "/aws/vendedlogs/states/a",
        "/aws/vendedlogs/states/b",
        "other_1",
    ]
    assert [g.name for g in store.list_log_groups("/aws/")] == [
        "/aws/vendedlogs/states/a",
        "/aws/vendedlogs/states/b",
    ]
    # A prefix is text, not a pattern: "_" matches only itself.
    assert [g.name for g in store.list_log_groups("other_")] == ["other_1"]
    assert store.list_log_groups("otherX") == []
    group = store.get_log_group("/aws/vendedlogs/states/a")
    assert group == LogGroupRecord("/aws/vendedlogs/states/a", 20, retention_in_days=7)
    group.retention_in_days = None
    group.kms_key_id = "key"
    store.update_log_group(group)
    assert store.get_log_group("/aws/vendedlogs/states/a") == group
    with pytest.raises(StoreError):
        store.update_log_group(LogGroupRecord("missing", 1))
    assert store.get_log_group("missing") is None


def test_log_streams_belong_to_an_existing_group(store: Store) -> None:
    with pytest.raises(StoreError):
        store.create_log_stream(LogStreamRecord("g", "s", 1))
    store.create_log_group(LogGroupRecord("g", 1))
    store.create_log_stream(LogStreamRecord("g", "states/b", 2))
    store.create_log_stream(LogStreamRecord("g", "log_stream_created_by_aws", 3))
    with pytest.raises(Conflict):
        store.create_log_stream(LogStreamRecord("g", "states/b", 4))
    assert [s.name for s in store.list_log_streams("g")] == [
        "log_stream_created_by_aws",
        "states/b",
    ]
    assert store.list_log_streams("g", "states/") == [LogStreamRecord("g", "states/b", 2)]
    assert store.list_log_streams("nothing") == []


def test_appending_creates_the_group_and_stream_and_sums_them_up(store: Store) -> None:
    store.append_log_events(
        [
            event("s1", 300, "three", at=1000),
            event("s1", 100, "one", at=1000),
            event("s2", 200, "zwei", at=1000),
        ]
    )
    store.append_log_events([event("s1", 50, "früh", at=2000)])
    group = store.get_log_group("g")
    assert group is not None and group.creation_time == 1000
    s1, s2 = store.list_log_streams("g")
    assert (s1.name, s1.creation_time) == ("s1", 1000)
    assert (s1.first_event_timestamp, s1.last_event_timestamp, s1.last_ingestion_time) == (
        50,
        300,
        2000,
    )
    # Each event counts its UTF-8 bytes and 26 more, as CloudWatch Logs counts them.
    assert s1.stored_bytes == (5 + 26) + (3 + 26) + (5 + 26)
    assert s2.stored_bytes == 4 + 26
    assert group.stored_bytes == s1.stored_bytes + s2.stored_bytes
    assert [g.stored_bytes for g in store.list_log_groups()] == [group.stored_bytes]
    # An int, as a JSON answer needs it (PostgreSQL's sums are NUMERIC).
    assert type(group.stored_bytes) is int
    assert [type(g.stored_bytes) for g in store.list_log_groups()] == [int]


def test_an_existing_group_and_stream_keep_their_creation_time(store: Store) -> None:
    store.create_log_group(LogGroupRecord("g", 7, retention_in_days=3))
    store.create_log_stream(LogStreamRecord("g", "s", 8))
    store.append_log_events([event("s", 100, "x", at=9000)])
    assert store.get_log_group("g") == LogGroupRecord("g", 7, 3, stored_bytes=27)
    (stream,) = store.list_log_streams("g")
    assert stream == LogStreamRecord("g", "s", 8, 100, 100, 9000, 27)


def test_deleting_a_group_or_stream_takes_its_events(store: Store) -> None:
    store.append_log_events([event("a", 1, "a1"), event("b", 2, "b1")])
    store.append_log_events([event("a", 3, "x", group="h")])
    store.delete_log_stream("g", "a")
    assert messages(store.log_events(LogQuery("g"))) == ["b1"]
    assert [s.name for s in store.list_log_streams("g")] == ["b"]
    store.delete_log_stream("g", "missing")
    store.delete_log_group("g")
    assert store.get_log_group("g") is None
    assert store.log_events(LogQuery("g")) == [] and store.list_log_streams("g") == []
    assert messages(store.log_events(LogQuery("h"))) == ["x"]
    store.delete_log_group("g")  # nothing left to delete: nothing happens


# --- reading events ----------------------------------------------------------------------------


def test_events_read_in_timestamp_order_with_ties_in_arrival_order(store: Store) -> None:
    store.append_log_events([event("s", 20, "b"), event("s", 10, "a"), event("s", 20, "c")])
    store.append_log_events([event("t", 20, "d"), event("s", 5, "first")])
    read = store.log_events(LogQuery("g"))
    assert messages(read) == ["first", "a", "b", "c", "d"]
    ids = [e.id for e in read]
    assert len(set(ids)) == 5 and all(i > 0 for i in ids)
    assert read[0].ingestion_time == 5000 and read[0].log_stream_name == "s"
    assert messages(store.log_events(LogQuery("g", reverse=True))) == ["d", "c", "b", "a", "first"]
    assert messages(store.log_events(LogQuery("g", limit=2))) == ["first", "a"]
    assert messages(store.log_events(LogQuery("g", reverse=True, limit=2))) == ["d", "c"]
    assert store.log_events(LogQuery("g", limit=0)) == []
    assert store.log_events(LogQuery("nothing")) == []


def test_events_filter_by_stream_time_and_terms(store: Store) -> None:
    store.append_log_events(
        [
            event("states/a/1", 10, '{"type":"ExecutionStarted","id":"1"}'),
            event("states/a/2", 20, '{"type":"PassStateEntered","id":"2"}'),
            event("states/b/1", 30, '{"type":"ExecutionFailed","id":"3"}'),
            event("other", 40, "ExecutionFailed, plain text"),
        ]
    )
    assert messages(store.log_events(LogQuery("g", streams=["other", "states/a/1"]))) == [
        '{"type":"ExecutionStarted","id":"1"}',
        "ExecutionFailed, plain text",
    ]
    assert store.log_events(LogQuery("g", streams=[])) == []
    assert [
        e.log_stream_name for e in store.log_events(LogQuery("g", stream_prefix="states/a/"))
    ] == [
        "states/a/1",
        "states/a/2",
    ]
    # start is inclusive, end exclusive.
    assert [e.timestamp for e in store.log_events(LogQuery("g", start=20, end=40))] == [20, 30]
    failed = store.log_events(LogQuery("g", terms=["ExecutionFailed"]))
    assert [e.timestamp for e in failed] == [30, 40]
    # Every term must appear, case-sensitively; "%" and "_" are plain characters.
    assert [e.timestamp for e in store.log_events(LogQuery("g", terms=["Failed", "plain"]))] == [40]
    assert store.log_events(LogQuery("g", terms=["executionfailed"])) == []
    assert store.log_events(LogQuery("g", terms=["%"])) == []
    assert [e.timestamp for e in store.log_events(LogQuery("g", terms=['"id":"2"']))] == [20]


def test_positions_page_through_events_both_ways(store: Store) -> None:
    store.append_log_events([event("s", ts, f"m{ts}") for ts in (10, 20, 20, 30, 40)])
    everything = store.log_events(LogQuery("g"))
    pages: list[str] = []
    after: tuple[int, int] | None = None
    while True:
        page = store.log_events(LogQuery("g", after=after, limit=2))
        if not page:
            break
        pages += messages(page)
        after = (page[-1].timestamp, page[-1].id)
    assert pages == messages(everything)
    third = everything[2]
    position = (third.timestamp, third.id)
    assert messages(store.log_events(LogQuery("g", before=position))) == messages(everything[:2])
    assert messages(store.log_events(LogQuery("g", after=position))) == messages(everything[3:])
    # The last two before the position, newest first: how a backward page is read.
    assert messages(store.log_events(LogQuery("g", before=position, reverse=True, limit=1))) == [
        everything[1].message
    ]
    both = store.log_events(
        LogQuery("g", after=(10, everything[0].id), before=position, start=0, end=50)
    )
    assert messages(both) == [everything[1].message]
