"""Reading a ``TF_LOG=DEBUG`` log of ``terraform apply``: every request the aws provider
sent, its answer, and every pause between them, so a test or a benchmark can say where the
seconds of an apply went (Terraform and the provider starting, the provider's own waits,
the server's answers).

The provider logs each request and each answer as one record (``HTTP Request Sent``,
``HTTP Response Received``) with ``key=value`` fields (``rpc.method``,
``http.status_code``, ``http.duration`` in ms, the SDK's ``attempt=N`` header, the
``tf_resource_type`` and the ``tf_req_id`` of the resource's gRPC call), and its state
waiters log ``Waiting for state to become: [X]`` (no fields) before they sleep. Resources
run at the same time, so their records interleave. A record starts with a timestamp; its
continuation lines (a body, more fields) are indented.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")
_FIELD = re.compile(r'(?<![\w.])([\w.@]+)=("(?:[^"\\]|\\.)*"|\S+)')
_WAITING = re.compile(r"Waiting for state to become: (\[[^\]]*\])")


@dataclass(frozen=True)
class Record:
    """One log record: when, its first line's text, and its ``key=value`` fields."""

    at: float
    text: str
    fields: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def kind(self) -> str:
        """``request``, ``response``, ``waiter`` or ``other``."""
        if "HTTP Request Sent" in self.text:
            return "request"
        if "HTTP Response Received" in self.text:
            return "response"
        if _WAITING.search(self.text):
            return "waiter"
        return "other"

    def label(self) -> str:
        """A short name of what the record is, for a report."""
        method = self.fields.get("rpc.method", "?")
        resource = self.fields.get("tf_resource_type", "")
        if self.kind == "request":
            return f"{method} sent ({resource})"
        if self.kind == "response":
            return f"{method} answered {self.fields.get('http.status_code', '?')} ({resource})"
        if self.kind == "waiter":
            found = _WAITING.search(self.text)
            return f"waiter 'Waiting for state to become: {found.group(1) if found else '?'}'"
        return self.text[:80]


@dataclass(frozen=True)
class Pause:
    """A stretch of the API phase with no request, answer or waiter: how long, the records
    either side, the waiter whose sleep it was (if the request that ends it follows one
    in its own resource's run), and whether Terraform started the provider again meanwhile
    (a destroy plans with one provider process and applies with another)."""

    seconds: float
    after: Record
    before: Record
    waiter: Record | None = None
    restarted: bool = False

    def cause(self) -> str:
        """What the pause was, for a report."""
        if self.restarted:
            return "Terraform starting the provider again"
        if self.waiter is not None:
            resource = self.before.fields.get("tf_resource_type", "?")
            return f"{self.waiter.label()} ({resource})"
        return self.after.label()


@dataclass(frozen=True)
class Timeline:
    """The requests of one apply and the pauses between them."""

    records: list[Record]

    @property
    def requests(self) -> list[Record]:
        """Every request sent, in order."""
        return [r for r in self.records if r.kind == "request"]

    @property
    def responses(self) -> list[Record]:
        """Every answer received, in order."""
        return [r for r in self.records if r.kind == "response"]

    def api_phase(self) -> tuple[float, float]:
        """When the first request was sent and the last answer received (seconds since
        the log's first record)."""
        requests, responses = self.requests, self.responses
        if not requests or not responses:
            return 0.0, 0.0
        return requests[0].at, responses[-1].at

    def pauses(self, at_least: float) -> list[Pause]:
        """Every gap of ``at_least`` seconds or more between two records of the API phase."""
        begin, end = self.api_phase()
        # Requests, answers and waiters only: Terraform's records (saving state) and the
        # provider's chatter would hide the one that came before the pause.
        kinds = ("request", "response", "waiter")
        relevant = [r for r in self.records if r.kind in kinds]
        inside = [r for r in relevant if begin <= r.at <= end]
        starts = [r.at for r in self.records if "plugin started" in r.text]
        return [
            Pause(
                later.at - earlier.at,
                earlier,
                later,
                waiter=self._waiter_before(later, relevant),
                restarted=any(earlier.at <= at <= later.at for at in starts),
            )
            for earlier, later in itertools.pairwise(inside)
            if later.at - earlier.at >= at_least
        ]

    @staticmethod
    def _waiter_before(request: Record, relevant: list[Record]) -> Record | None:
        """The waiter that logged after the previous request or answer of ``request``'s own
        resource (its ``tf_req_id``) and before it: the sleep ``request`` ends. Other
        resources' records may come between, as they run at the same time."""
        own = request.fields.get("tf_req_id")
        if own is None:
            return None
        waiter = None
        for record in reversed(relevant[: relevant.index(request)]):
            if record.kind == "waiter":
                # The earliest since the resource's previous record: its goroutine logs
                # the waiter right after that record.
                waiter = record
            elif record.fields.get("tf_req_id") == own:
                return waiter
        return None

    def retried(self) -> list[Record]:
        """Requests that the SDK sent again (``attempt=2`` or later)."""
        return [r for r in self.requests if not r.fields.get("attempt", "1").startswith("1")]

    def errors(self) -> list[Record]:
        """Answers with a status of 400 or more."""
        return [r for r in self.responses if int(r.fields.get("http.status_code", "0")) >= 400]

    def server_ms(self) -> int:
        """The milliseconds the provider measured for all its requests (``http.duration``),
        added up (requests in flight together each count)."""
        return sum(int(r.fields.get("http.duration", "0")) for r in self.responses)


def parse(text: str) -> Timeline:
    """The timeline of a ``TF_LOG=DEBUG`` log (times in seconds since its first record)."""
    records: list[Record] = []
    first: datetime | None = None
    lines: list[str] = []
    body: list[str] = []
    stamp: datetime | None = None

    def close() -> None:
        if stamp is None or first is None:
            return
        joined = " ".join(lines)
        fields = {key: value.strip('"') for key, value in _FIELD.findall(joined)}
        attempt = re.search(r'amz_sdk_request="attempt=(\d+)', joined)
        if attempt:
            fields["attempt"] = attempt.group(1)
        at = (stamp - first).total_seconds()
        records.append(Record(at, lines[0], fields, "\n".join(body)))

    for line in text.splitlines():
        found = _STAMP.match(line)
        if found is None:
            # A continuation: a body's line ("  | ...") or more of the record's fields.
            if line.startswith("  |"):
                body.append(line[4:])
            else:
                lines.append(line)
            continue
        close()
        stamp = datetime.fromisoformat(found.group(1))
        first = first or stamp
        lines, body = [line], []
    close()
    return Timeline(records)


def read(path: Path) -> Timeline:
    """The timeline of the log file at ``path``."""
    return parse(path.read_text(encoding="utf-8", errors="replace"))
