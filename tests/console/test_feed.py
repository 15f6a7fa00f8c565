from __future__ import annotations

import asyncio
import threading

import pytest

from stepfn.console import feed as feed_module
from stepfn.console.feed import ChangeFeed

from .machines import create, failing, history, run, virtual_engine

ARN = "arn:aws:states:us-east-1:123456789012:execution:m:e"


def event(n: int) -> dict:
    return {"id": n, "type": "PassStateEntered", "timestamp": None}


def test_a_publish_from_another_thread_wakes_the_subscriber() -> None:
    feed = ChangeFeed(poll_seconds=30)

    async def watch() -> list[dict]:
        waiting = asyncio.ensure_future(feed.subscribe(ARN, 0))
        await asyncio.sleep(0.05)
        threading.Thread(target=feed.publish, args=(ARN, [event(1), event(2)])).start()
        return await waiting

    got = asyncio.run(watch())
    assert [e["id"] for e in got] == [1, 2]


def test_subscribers_get_only_what_is_after_their_id() -> None:
    feed = ChangeFeed(poll_seconds=0.01)
    feed.publish(ARN, [event(1), event(2), event(3)])
    assert [e["id"] for e in asyncio.run(feed.subscribe(ARN, 2))] == [3]
    assert asyncio.run(feed.subscribe(ARN, 3)) == []


def test_without_publishing_new_events_are_read_through_the_engine() -> None:
    with virtual_engine() as engine:
        arn = run(engine, create(engine, "f", failing()))
        events = history(engine, arn)
        feed = ChangeFeed(engine, poll_seconds=0.01)
        got = asyncio.run(feed.subscribe(arn, 2))
    assert [e["id"] for e in got] == [e["id"] for e in events[2:]]


def test_only_the_most_recently_published_executions_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feed_module, "KEEP_EXECUTIONS", 2)
    feed = ChangeFeed(poll_seconds=0.01)
    for name in ("a", "b", "c"):
        feed.publish(name, [event(1)])
    assert asyncio.run(feed.subscribe("a", 0)) == []  # forgotten, and no engine to read
    assert [e["id"] for e in asyncio.run(feed.subscribe("c", 0))] == [1]
