"""Wake-ups between servers on one PostgreSQL database: LISTEN on the store's channel.

The database sends a notification from every transaction that makes work another
server may take (``migrations/postgres/0008_notifications.sql``): ``inbox`` when
stimuli are queued, ``activity`` when an activity task is scheduled. A ``Listener``
holds one connection of its own (outside the pool: a LISTEN belongs to its session)
and hands each notification to a callback, from a thread of its own. Its own server's
notifications are dropped (their sender is one of the pool's sessions): that server
woke itself in memory when it wrote them.

Nothing depends on a notification arriving: the loop still polls. A lost connection is
opened again, after which the callback hears every kind of note once, since what was
sent meanwhile went unheard.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

log = logging.getLogger("stepfn.store.pg_listener")

NOTES = ("inbox", "activity")  # what the triggers send
WAIT_SECONDS = 0.5  # how long one wait for notifications lasts: how soon close() is heard
RECONNECT_SECONDS = 1.0  # the pause before opening a lost connection again


class Listener:
    """A thread that LISTENs on ``channel`` and calls ``on_note(payload)`` for each
    notification sent by another session than ``own_pids`` (read at each one, so
    sessions the pool opens later count too).

    Args:
        psycopg: the psycopg module.
        conninfo: the libpq URL of the database.
        channel: the channel name (``Store``'s ``notify_channel`` query).
        own_pids: the backend pids of this server's own sessions.
        on_note: called from the listener's thread; an exception in it is logged.
        connect_timeout: seconds to wait for the server when connecting.
    """

    def __init__(
        self,
        psycopg: Any,
        conninfo: str,
        channel: str,
        own_pids: Collection[int],
        on_note: Callable[[str], None],
        connect_timeout: int = 10,
    ) -> None:
        self._psycopg = psycopg
        self._conninfo = conninfo
        self._channel = channel
        self._own = own_pids
        self._on_note = on_note
        self._connect_timeout = connect_timeout
        self._closing = threading.Event()
        self.listening = threading.Event()  # set while the LISTEN is in place
        self._thread = threading.Thread(target=self._run, name="stepfn-listen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        psycopg = self._psycopg
        listen = psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(self._channel))
        missed = False  # whether notifications may have gone unheard
        while not self._closing.is_set():
            try:
                with psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=self._connect_timeout
                ) as conn:
                    conn.execute(listen)
                    self.listening.set()
                    if missed:
                        missed = False
                        for note in NOTES:  # what was sent while not listening
                            self._deliver(note)
                    while not self._closing.is_set():
                        for notify in conn.notifies(timeout=WAIT_SECONDS):
                            if notify.pid not in self._own:
                                self._deliver(notify.payload)
            except psycopg.Error as exc:
                missed = True
                if self._closing.is_set():
                    break
                log.warning("listening for other servers' work failed (%s); polling meanwhile", exc)
            finally:
                self.listening.clear()
            self._closing.wait(RECONNECT_SECONDS)

    def _deliver(self, note: str) -> None:
        try:
            self._on_note(note)
        except Exception:  # the listener must outlive a failing callback
            log.warning("a wake-up from another server failed", exc_info=True)

    def close(self) -> None:
        """Stop listening and close the connection (within ``WAIT_SECONDS``)."""
        self._closing.set()
        # Not longer than a wait: a connection attempt in progress ends by itself.
        self._thread.join(timeout=2 * WAIT_SECONDS)
