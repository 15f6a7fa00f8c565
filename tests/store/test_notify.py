"""PostgreSQL's wake-ups between servers: what a store hears of the others' work.

Two stores on one schema stand for two servers. Notes arrive in commit order, so a test
that a write sends nothing follows it with one that sends a note and checks that note
comes first: no sleeping and hoping.
"""

from __future__ import annotations

import itertools
import queue
from collections.abc import Callable, Iterator

import pytest

from stepfn.store import Lease, Store, StoreError, open_store

from .test_store import ACTIVITY, inbox_refused, start, step, task

pytestmark = pytest.mark.integration
_schemas = itertools.count(1)
WAIT = 10.0  # seconds a note may take on a loaded machine


class Ear:
    """A store's notes, as they come."""

    def __init__(self, store: Store, owner: str | None = None) -> None:
        self.notes: queue.Queue[str] = queue.Queue()
        stop = store.listen(self.notes.put, owner)
        assert stop is not None
        self.stop: Callable[[], None] = stop

    def next(self) -> str:
        return self.notes.get(timeout=WAIT)

    def nothing_more(self) -> bool:
        return self.notes.empty()


@pytest.fixture
def pair(pg_url: str) -> Iterator[tuple[Store, Store, str]]:
    """Two stores on one new schema (two servers), and its URL."""
    url = f"{pg_url}?schema=notify{next(_schemas)}"
    here, there = open_store(url), open_store(url)
    yield here, there, url
    here.close()
    there.close()


def test_sqlite_sends_no_notes(tmp_path: object) -> None:
    store = open_store("memory://")
    try:
        assert store.listen(lambda note: None) is None
    finally:
        store.close()


def test_what_a_writer_that_steps_nothing_queues_is_heard(
    pair: tuple[Store, Store, str],
) -> None:
    here, there, _ = pair
    ear = Ear(here)
    try:
        arn = start(there, "e1")  # nothing queued: its server steps it
        there.add_inbox(arn, {"type": "Begin"}, 1001.0)
        assert ear.next() == "inbox"
        # A step that schedules an invoke task and an activity task: only the activity
        # is news (the invoke runs where it was written), and the step queued nothing.
        invoke = task("t1", arn, kind="invoke", activity_arn=None)
        there.commit_steps([step(arn, 2, new_tasks=[invoke, task("t2", arn)])])
        assert ear.next() == "activity"
        assert ear.nothing_more()  # the commit queued no stimulus
        assert there.complete_task("t1", {"type": "TaskSucceeded", "token": "t1"}, 1002.0)
        assert ear.next() == "inbox"
        claimed = there.claim_activity_task(ACTIVITY, "w", 1003.0)  # queues TaskStarted
        assert claimed is not None
        assert ear.next() == "inbox"
        assert ear.nothing_more()
    finally:
        ear.stop()


def test_a_servers_own_writes_and_rolled_back_ones_send_it_nothing(
    pair: tuple[Store, Store, str],
) -> None:
    here, there, _ = pair
    ear = Ear(here)
    try:
        arn = start(here, "mine")
        here.add_inbox(arn, {"type": "Begin"}, 1001.0)
        here.commit_steps([step(arn, 2, new_tasks=[task("t1", arn)])])
        other = start(there, "theirs")
        there.add_inbox(other, {"type": "Begin"}, 1001.0)
        assert ear.next() == "inbox"  # theirs, the first note heard
        # A claim whose TaskStarted failed is rolled back, its note with it.
        with inbox_refused(there), pytest.raises(StoreError):
            there.claim_activity_task(ACTIVITY, "w", 1002.0)
        there.commit_steps([step(other, 2, new_tasks=[task("t2", other)])])
        assert ear.next() == "activity"
        assert ear.nothing_more()
    finally:
        ear.stop()


def test_a_stepping_servers_stimuli_are_news_only_where_another_owner_holds_them(
    pair: tuple[Store, Store, str],
) -> None:
    here, there, _ = pair
    ear = Ear(here, "here")
    other = Ear(there, "there")  # there steps too: it wakes itself for what it queues
    try:
        free, held, own = start(there, "free"), start(there, "held"), start(there, "own")
        for arn in (held, own):
            there.add_inbox(arn, {"type": "Begin"}, 1001.0)
        assert here.claim_named_executions(Lease("here", 2000.0, 30.0), [held]) == [held]
        assert there.claim_named_executions(Lease("there", 2000.0, 30.0), [own]) == [own]
        there.add_inbox(free, {"type": "Later"}, 1002.0)  # nobody holds it: no news
        there.add_inbox(own, {"type": "Later"}, 1003.0)  # there's own: no news
        there.add_inbox(held, {"type": "Later"}, 1004.0)  # here steps it: here must look
        assert ear.next() == "inbox"
        # here's own writes follow the same rule, and here's notes are not here's news.
        here.add_inbox(held, {"type": "Later"}, 1005.0)
        here.add_inbox(own, {"type": "Later"}, 1006.0)
        here.commit_steps([step(held, 2, new_tasks=[task("t0", held)])])
        assert [other.next(), other.next()] == ["inbox", "activity"]  # one inbox only
        there.commit_steps([step(free, 2, new_tasks=[task("t1", free)])])
        assert ear.next() == "activity"  # and nothing before it
        assert ear.nothing_more() and other.nothing_more()
    finally:
        other.stop()
        ear.stop()


def test_stores_in_other_schemas_are_not_heard(pair: tuple[Store, Store, str], pg_url: str) -> None:
    here, there, _ = pair
    elsewhere = open_store(f"{pg_url}?schema=notify_elsewhere{next(_schemas)}")
    ear = Ear(here)
    try:
        far = start(elsewhere, "far")
        elsewhere.add_inbox(far, {"type": "Begin"}, 1001.0)
        arn = start(there, "near")
        there.commit_steps([step(arn, 2, new_tasks=[task("t1", arn)])])
        assert ear.next() == "activity"  # not the other schema's inbox, committed first
        assert ear.nothing_more()
    finally:
        ear.stop()
        elsewhere.close()


def test_a_lost_connection_is_opened_again_and_says_what_may_have_been_missed(
    pair: tuple[Store, Store, str], pg_url: str
) -> None:
    import psycopg

    here, there, _ = pair
    ear = Ear(here)
    try:
        arn = start(there, "e1")
        there.add_inbox(arn, {"type": "Begin"}, 1001.0)
        assert ear.next() == "inbox"
        # The database ends the listening session (a restart, a network cut).
        with psycopg.connect(pg_url, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %%' AND datname = current_database()"
            ).fetchall()
        assert ended == [(True,)]
        # Listening again, it hears of both kinds of work, which may have come meanwhile.
        assert sorted([ear.next(), ear.next()]) == ["activity", "inbox"]
        there.add_inbox(arn, {"type": "Begin"}, 1002.0)
        assert ear.next() == "inbox"
    finally:
        ear.stop()


def test_a_closed_sessions_pid_is_forgotten_when_the_pool_opens_another(pg_url: str) -> None:
    """PostgreSQL gives a dead session's pid to later sessions, maybe another server's:
    kept as this server's own, that server's notes would be dropped."""
    import psycopg

    store = open_store(f"{pg_url}?schema=notify{next(_schemas)}")
    try:
        own: set[int] = store._own_pids  # type: ignore[attr-defined]
        gone = min(own)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (gone,))
        pool = store._pool  # type: ignore[attr-defined]
        pool.check()  # finds the broken session; a worker of the pool opens another
        pool.wait(timeout=WAIT)
        assert gone not in own
        with psycopg.connect(pg_url, autocommit=True) as admin:
            live = {pid for (pid,) in admin.execute("SELECT pid FROM pg_stat_activity")}
        assert own and own <= live  # the new session's pid, and no dead one
    finally:
        store.close()
