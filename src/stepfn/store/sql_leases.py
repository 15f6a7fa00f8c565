"""Leased work, for several servers on one database (see ``Store.claim_executions``).

A server claims what it works on with an owner name and a lease expiry, renews its
leases while it works, and gives them up when done; what a dead server held is taken
over once its leases expire. On PostgreSQL the claims skip the rows another server is
claiming at that moment (``FOR UPDATE SKIP LOCKED``); SQLite has one writer at a time.
Timers need no lease: ``fire_due_timers`` takes them with one ``DELETE ... RETURNING``
in the transaction that queues their stimuli, so each fires once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from stepfn.store.base import Lease, TaskRecord
from stepfn.store.common import to_json
from stepfn.store.sql_logs import SqlLogs
from stepfn.store.sql_rows import rows


class SqlLeases(SqlLogs):
    """Claims, renewals and releases, in SQL (see ``Store`` for each method)."""

    def __init__(self) -> None:
        super().__init__()
        # The group commit of task answers (see complete_task).
        self._completions_lock = threading.Lock()
        self._completions_group = threading.Lock()
        self._completions: list[_Completion] = []

    def claim_executions(self, lease: Lease, limit: int = 100) -> list[str]:
        """Take runnable executions on ``lease``'s terms."""
        values = {**_terms(lease), "limit": limit}
        with self._write() as conn:
            # Fetched before COMMIT (see SqlStore.add_inbox).
            found = conn.execute(self._q["claim_executions"], values).fetchall()
        return [arn for (arn,) in found]

    def claim_named_executions(self, lease: Lease, arns: Sequence[str]) -> list[str]:
        """Take these executions (those nobody holds) on ``lease``'s terms."""
        values = _terms(lease)
        taken: list[str] = []
        with self._write() as conn:
            for arn in dict.fromkeys(arns):
                found = conn.execute(self._q["claim_named_execution"], {**values, "arn": arn})
                taken += [row[0] for row in found.fetchall()]
        return taken

    def claim_tasks(self, lease: Lease, limit: int = 100) -> list[TaskRecord]:
        """Take invoke tasks to run (new ones and those of dead servers)."""
        values = {**_terms(lease), "limit": limit}
        with self._write() as conn:
            found = rows(conn.execute(self._q["claim_tasks"], values))
        tasks = [TaskRecord(**row) for row in found]
        tasks.sort(key=lambda task: task.created)
        return tasks

    def release_execution(self, arn: str, owner: str) -> bool:
        """Give an execution's lease up; whether ``owner`` held it."""
        with self._write() as conn:
            count = conn.execute(self._q["release_execution"], {"arn": arn, "owner": owner})
            return bool(count.rowcount == 1)

    def renew_held(
        self, lease: Lease, arns: Sequence[str] = (), tokens: Sequence[str] = ()
    ) -> None:
        """Move on the owner's leases of these executions and tasks."""
        if not arns and not tokens:
            return
        owner, expires = lease.owner, lease.expires
        # Outside a transaction (the connections are in autocommit mode): each row is
        # its own statement and transaction, so a renewal holds one row lock at a time
        # and can never be one side of a deadlock with the commits and claims that lock
        # the same rows in their own order (one renewal of hundreds of rows could, and
        # a renewal lost that way lets live work be taken over).
        # (Not executemany: psycopg pipelines it into one implicit transaction.)
        with self._read() as conn:
            for arn in arns:
                conn.execute(self._q["renew_execution_lease"], (expires, arn, owner))
            for token in tokens:
                conn.execute(self._q["renew_task_lease"], (expires, token, owner))

    def release_executions(self, owner: str, arns: Sequence[str]) -> None:
        """Give up ``owner``'s leases on these executions."""
        if not arns:
            return
        with self._read() as conn:  # a row at a time, as renew_held does
            for arn in arns:
                conn.execute(self._q["release_executions"], (arn, owner))

    def release_task(self, token: str, owner: str) -> None:
        """Give up ``owner``'s lease on a task."""
        with self._write() as conn:
            conn.execute(self._q["release_task"], {"token": token, "owner": owner})

    def release_leases(self, owner: str) -> int:
        """Give up every execution lease of ``owner``; how many."""
        with self._write() as conn:
            return int(conn.execute(self._q["release_owner_executions"], {"owner": owner}).rowcount)

    def execution_lease(self, arn: str) -> tuple[str, float] | None:
        """Who holds an execution and until when, or None."""
        with self._read() as conn:
            found = conn.execute(self._q["execution_lease"], {"arn": arn}).fetchone()
        if found is None or found[0] is None:
            return None
        return str(found[0]), float(found[1])

    def complete_task(self, token: str, stimulus: dict[str, Any], now: float) -> int | None:
        """Mark a task done and queue its result, in one transaction.

        A group commit, as ``create_execution``'s: answers arriving together (from the
        workers' reader threads) share one transaction; whichever thread holds the group
        lock commits every queued answer, each under a savepoint."""
        item = _Completion(token, to_json(stimulus), now)
        with self._completions_lock:
            self._completions.append(item)
        with self._completions_group:
            if not item.done:
                with self._completions_lock:
                    batch, self._completions = self._completions, []
                self._complete_tasks(batch)
        if item.error is not None:
            raise item.error
        return item.message_id

    def _complete_tasks(self, batch: list[_Completion]) -> None:
        if len(batch) > 1:
            # Most batches write every answer: first in one go, without a savepoint
            # each (two statements per answer); should one fail, that transaction is
            # rolled back and the batch written again, each answer under its savepoint.
            try:
                with self._write() as conn:
                    for item in batch:
                        self._complete_one(conn, item)
            except Exception:
                for item in batch:
                    item.message_id = None
            except BaseException as exc:
                for item in batch:
                    item.message_id, item.error, item.done = None, exc, True
                return
            else:
                for item in batch:
                    item.done = True
                return
        try:
            with self._write() as conn:
                for item in batch:
                    if len(batch) > 1:
                        conn.execute("SAVEPOINT completion")
                    try:
                        self._complete_one(conn, item)
                    except Exception as exc:
                        if len(batch) == 1:
                            raise
                        # One answer that cannot be written fails alone.
                        conn.execute("ROLLBACK TO SAVEPOINT completion")
                        item.error = self._store_error(exc) or exc
                    if len(batch) > 1:
                        conn.execute("RELEASE SAVEPOINT completion")
        except BaseException as exc:
            for item in batch:
                item.message_id = None
                item.error = item.error or exc
        finally:
            for item in batch:
                item.done = True

    def _complete_one(self, conn: Any, item: _Completion) -> None:
        """Mark one task done and queue its result (``item.message_id``), unless it was
        answered already."""
        q = self._q
        found = conn.execute(q["complete_task"], {"token": item.token}).fetchall()
        if found:  # else answered already: nothing is queued
            values = {"execution_arn": found[0][0], "stimulus": item.stimulus, "created": item.now}
            (message_id,) = conn.execute(q["add_inbox"], values).fetchone()
            item.message_id = int(message_id)


class _Completion:
    """One queued ``complete_task``: its values, then its result."""

    __slots__ = ("done", "error", "message_id", "now", "stimulus", "token")

    def __init__(self, token: str, stimulus: str, now: float) -> None:
        self.token = token
        self.stimulus = stimulus
        self.now = now
        self.done = False
        self.message_id: int | None = None
        self.error: BaseException | None = None


def _terms(lease: Lease) -> dict[str, Any]:
    """The query parameters of a claim on ``lease``'s terms."""
    return {"owner": lease.owner, "now": lease.now, "expires": lease.expires}
