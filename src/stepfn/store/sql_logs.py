"""The CloudWatch Logs part of the SQL stores: log groups, streams and events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stepfn.store.base import LogEventRecord, LogGroupRecord, LogQuery, LogStreamRecord
from stepfn.store.common import stream_additions, to_json
from stepfn.store.sql_core import SqlCore


class SqlLogs(SqlCore):
    """Log groups, streams and events, in SQL (see ``Store`` for each method)."""

    def create_log_group(self, record: LogGroupRecord) -> None:
        """Add a log group; ``Conflict`` when its name exists."""
        params = {k: v for k, v in vars(record).items() if k != "stored_bytes"}
        with self._write() as conn:
            conn.execute(self._q["insert_log_group"], params)

    def get_log_group(self, name: str) -> LogGroupRecord | None:
        """The log group with this name (its stored bytes summed)."""
        return self._one("get_log_group", {"name": name}, "log_groups", LogGroupRecord)

    def update_log_group(self, record: LogGroupRecord) -> None:
        """Replace a log group's settings; ``StoreError`` when there is none."""
        params = {
            k: v for k, v in vars(record).items() if k not in ("stored_bytes", "creation_time")
        }
        self._update("update_log_group", params, "log group")

    def list_log_groups(self, prefix: str | None = None) -> list[LogGroupRecord]:
        """Log groups whose name starts with ``prefix`` (all when None), by name."""
        return self._all("list_log_groups", {"prefix": prefix}, "log_groups", LogGroupRecord)

    def delete_log_group(self, name: str) -> None:
        """Remove a log group with its streams and events (nothing when missing)."""
        params = {"name": name}
        with self._write() as conn:
            for query in (
                "delete_log_group_events",
                "delete_log_group_streams",
                "delete_log_group",
            ):
                conn.execute(self._q[query], params)

    def create_log_stream(self, record: LogStreamRecord) -> None:
        """Add an empty log stream; ``Conflict`` when it exists, ``StoreError`` when its
        log group does not."""
        with self._write() as conn:
            conn.execute(self._q["insert_log_stream"], vars(record))

    def list_log_streams(
        self, log_group_name: str, prefix: str | None = None
    ) -> list[LogStreamRecord]:
        """A log group's streams whose name starts with ``prefix``, by name."""
        params = {"log_group_name": log_group_name, "prefix": prefix}
        return self._all("list_log_streams", params, "log_streams", LogStreamRecord)

    def delete_log_stream(self, log_group_name: str, name: str) -> None:
        """Remove a log stream with its events (nothing when missing)."""
        params = {"log_group_name": log_group_name, "name": name}
        with self._write() as conn:
            conn.execute(self._q["delete_log_stream_events"], params)
            conn.execute(self._q["delete_log_stream"], params)

    def append_log_events(self, events: Sequence[LogEventRecord]) -> None:
        """Store log events in the order given, in one transaction; missing log groups
        and streams are created (at the event's ingestion time)."""
        if not events:
            return
        groups: dict[str, int] = {}
        for event in events:
            groups.setdefault(event.log_group_name, event.ingestion_time)
        rows = [
            (e.log_group_name, e.log_stream_name, e.timestamp, e.ingestion_time, e.message)
            for e in events
        ]
        streams = stream_additions(events)
        q = self._q
        with self._write() as conn:
            self._many(conn, q["ensure_log_group"], list(groups.items()))
            self._many(conn, q["add_to_log_stream"], streams)
            self._many(conn, q["insert_log_event"], rows)

    def log_events(self, query: LogQuery) -> list[LogEventRecord]:
        """The log events ``query`` asks for (see ``LogQuery``)."""
        params: dict[str, Any] = {
            "log_group_name": query.log_group_name,
            "limit": self.no_limit if query.limit is None else query.limit,
        }
        used: list[str] = []
        if query.streams is not None:
            params["streams"] = to_json(list(query.streams))
            used.append("streams")
        if query.stream_prefix is not None:
            params["stream_prefix"] = query.stream_prefix
            used.append("stream_prefix")
        if query.start is not None:
            params["start"] = query.start
            used.append("start")
        if query.end is not None:
            params["end"] = query.end
            used.append("end")
        if query.terms:
            params["terms"] = to_json(list(query.terms))
            used.append("terms")
        if query.after is not None:
            params["after_timestamp"], params["after_id"] = query.after
            used.append("after")
        if query.before is not None:
            params["before_timestamp"], params["before_id"] = query.before
            used.append("before")
        filters = "".join(self._fragment(f"log_filter_{name}") for name in used)
        name = "log_events_reverse" if query.reverse else "log_events_forward"
        with self._read() as conn:
            rows = conn.execute(self._filled(name, filters), params).fetchall()
        return [
            LogEventRecord(group, stream, timestamp, message, ingestion, id_)
            for id_, group, stream, timestamp, message, ingestion in rows
        ]
