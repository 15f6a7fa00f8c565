"""Delivering execution logs: when an execution's events are written to its log group.

AWS delivers execution logs "on a best-effort basis", apart from the execution: a
failure to log never fails or slows an execution. stepfn does the same, at three
points:

* StartExecution (Standard), which runs the first states, logs the events it commits;
* the worker, after each committed batch of steps, logs their events in one write;
* an Express execution, which runs in memory, logs its events when it ends.

A write happens after the commit of the events it logs, in its own transaction, so a
crash in between loses those log events (never history). Executions whose logging is
``OFF``, the default, cost one dictionary lookup per committed step: the settings of
each (state machine or version, revision) are read from the store once and kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from stepfn.clock import Clock
from stepfn.durable.worker import to_stored
from stepfn.interp.events import Event
from stepfn.logs.events import (
    LoggedExecution,
    LogSettings,
    log_events,
    log_settings,
    timestamp_ms,
)
from stepfn.store.base import ExecutionRecord, LogEventRecord, Store, StoredEvent

log = logging.getLogger("stepfn.logs")

# (state machine or version ARN, revision id) -> settings, None when nothing is logged.
_Key = tuple[str, str]


def _key(record: ExecutionRecord) -> _Key:
    # The revision changes whenever the logging configuration does, so a key names one
    # configuration for good; a version is immutable, so its ARN alone would do.
    return (record.version_arn or record.state_machine_arn, record.state_machine_revision_id)


def _logged(record: ExecutionRecord) -> LoggedExecution:
    return LoggedExecution(
        record.arn, record.state_machine_arn, record.start_date, record.redrive_count
    )


class LogDelivery:
    """Writes executions' log events to the store, after the fact and best effort.

    Args:
        store: where the log events go (and where configurations are read).
        clock: gives the ingestion time of the events.
        cache_size: how many (machine or version, revision) settings are kept before
            the cache starts again (there are rarely more than a few dozen).
    """

    def __init__(self, store: Store, clock: Clock, cache_size: int = 1024) -> None:
        self.store = store
        self.clock = clock
        self._cache_size = cache_size
        # Read without the lock (a dict lookup is atomic): the hot path of every step.
        self._settings: dict[_Key, LogSettings | None] = {}
        self._lock = threading.Lock()

    # --- the three delivery points ----------------------------------------------------------

    def committed(
        self, record: ExecutionRecord, events: Sequence[StoredEvent]
    ) -> list[LogEventRecord]:
        """The log events of a committed step of a stored execution (``record`` as it
        was read for the step, or as StartExecution stored it); empty when its logging
        is off. The worker writes those of a whole batch at once with ``write``."""
        if not events:
            return []
        settings = self._settings_of(record)
        if settings is None:
            return []
        try:
            return self._records(settings, _logged(record), events)
        except Exception:  # the worker must go on with the batch's tasks whatever happens
            log.exception("a step of %s was not logged", record.arn)
            return []

    def express(self, target: Any, record: ExecutionRecord, events: Iterable[Event]) -> None:
        """An Express execution ended: log its events."""
        try:
            settings = log_settings(target.logging_configuration)
            if settings is not None:
                stored = [to_stored(event) for event in events]
                self.write(self._records(settings, _logged(record), stored))
        except Exception:
            log.exception("Express execution %s was not logged", record.arn)

    def write(self, records: Sequence[LogEventRecord]) -> None:
        """Store log events; a failure is logged here, never raised to the execution."""
        if not records:
            return
        try:
            self.store.append_log_events(records)
        except Exception:
            log.exception("%d execution log events were not delivered", len(records))

    # --- settings -----------------------------------------------------------------------------

    def _records(
        self, settings: LogSettings, execution: LoggedExecution, events: Iterable[StoredEvent]
    ) -> list[LogEventRecord]:
        return log_events(settings, execution, events, timestamp_ms(self.clock.now()))

    def _settings_of(self, record: ExecutionRecord) -> LogSettings | None:
        key = _key(record)
        cache = self._settings
        if key in cache:
            return cache[key]
        try:
            settings = self._load(record)
        except Exception:
            # Not remembered: the next step of the execution tries again.
            log.exception("the logging configuration of %s could not be read", record.arn)
            return None
        self._remember(key, settings)
        return settings

    def _load(self, record: ExecutionRecord) -> LogSettings | None:
        """The settings stored for what an execution runs (read once per key). An
        execution whose machine changed its logging since it started, before this
        process saw it, gets the machine's present settings: the revision it ran is
        not kept apart."""
        if record.version_arn:
            version = self.store.get_version(record.version_arn)
            return log_settings(version.logging_configuration) if version else None
        machine = self.store.get_state_machine(record.state_machine_arn)
        return log_settings(machine.logging_configuration) if machine else None

    def _remember(self, key: _Key, settings: LogSettings | None) -> None:
        with self._lock:
            if len(self._settings) >= self._cache_size:
                self._settings = {}  # a new dict: readers keep the one they hold
            self._settings[key] = settings
