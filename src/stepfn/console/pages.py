"""What each console page shows, gathered through the Engine's operations only.

Each function returns the page's data as a dict: the HTML template renders it, and the
page's JSON twin is the same dict. Lists page through the Engine's own tokens (SQL
``LIMIT``/``OFFSET`` underneath), so no page loads every execution.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Protocol

from stepfn.console.graph import DefinitionUnreadable, ancestors, build_graph, parse
from stepfn.console.history import annotate, map_iterations, state_visits
from stepfn.console.outcome import OutcomeTracker

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
MACHINES_PAGE = 20
PAGE_SIZE = 25
HISTORY_PAGE = 100
HISTORY_READ = 1000  # events read per Engine call when the whole history is needed


class Engine(Protocol):
    """The Engine operations the console calls (boto3's names)."""

    def list_state_machines(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_state_machine(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_state_machine_versions(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_state_machine_aliases(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_executions(self, **kwargs: Any) -> dict[str, Any]: ...
    def count_executions(self, *, stateMachineArn: str) -> dict[str, int]: ...
    def describe_execution(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_state_machine_for_execution(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_map_runs(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_map_run(self, **kwargs: Any) -> dict[str, Any]: ...
    def start_execution(self, **kwargs: Any) -> dict[str, Any]: ...
    def stop_execution(self, **kwargs: Any) -> dict[str, Any]: ...
    def redrive_execution(self, **kwargs: Any) -> dict[str, Any]: ...


class BadParameter(ValueError):
    """A query parameter the console cannot use; the message names it."""


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 text, ready for ``json.dumps``."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def graph_of(definition_text: str) -> tuple[dict[str, Any], str | None]:
    """The graph of a definition, or an empty graph and why it could not be drawn."""
    try:
        return build_graph(parse(definition_text)), None
    except DefinitionUnreadable as exc:
        return {"nodes": [], "groups": [], "edges": []}, str(exc)


def pretty(text: Any) -> str:
    """JSON text indented for reading; other text as it is."""
    if not isinstance(text, str):
        if isinstance(text, dict | list | int | float):
            return json.dumps(text, indent=2, ensure_ascii=False)
        return ""  # None, or a field the event does not have
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


# --- state machines ----------------------------------------------------------------------


def counts(engine: Engine, machine_arn: str) -> dict[str, int]:
    """Executions of a machine by status, exact: the store counts them on its index
    (``Engine.count_executions``), so a list page does not read executions."""
    found = engine.count_executions(stateMachineArn=machine_arn)
    return {status: found[status] for status in STATUSES if found.get(status)}


def machines_page(engine: Engine, next_token: str | None) -> dict[str, Any]:
    """The state machines, by name, a page at a time, with executions by status."""
    page = engine.list_state_machines(maxResults=MACHINES_PAGE, nextToken=next_token)
    rows = []
    for item in page["stateMachines"]:
        row = dict(item)
        row["counts"] = (
            counts(engine, item["stateMachineArn"]) if item["type"] == "STANDARD" else {}
        )
        rows.append(row)
    return {"stateMachines": rows, "nextToken": page.get("nextToken")}


def last_input(engine: Engine, machine_arn: str) -> str:
    """The input of the machine's newest execution (the start form's first text)."""
    page = engine.list_executions(stateMachineArn=machine_arn, maxResults=1)
    if not page["executions"]:
        return "{}"
    newest = engine.describe_execution(executionArn=page["executions"][0]["executionArn"])
    return pretty(newest.get("input", "{}"))


def machine_page(engine: Engine, arn: str) -> dict[str, Any]:
    """One state machine: its description, graph, versions, aliases, newest executions."""
    machine = engine.describe_state_machine(stateMachineArn=arn)
    graph, problem = graph_of(machine["definition"])
    base = arn if machine["stateMachineArn"] == arn else machine["stateMachineArn"]
    versions = engine.list_state_machine_versions(stateMachineArn=base, maxResults=100)
    aliases = engine.list_state_machine_aliases(stateMachineArn=base, maxResults=100)
    standard = machine["type"] == "STANDARD"
    recent: dict[str, Any] = {"executions": []}
    if standard:
        recent = engine.list_executions(stateMachineArn=arn, maxResults=10)
    return {
        "stateMachine": machine,
        "definitionText": pretty(machine["definition"]),
        "graph": graph,
        "graphProblem": problem,
        "versions": versions["stateMachineVersions"],
        "aliases": aliases["stateMachineAliases"],
        "executions": recent["executions"],
        "counts": counts(engine, arn) if standard else {},
        "lastInput": last_input(engine, arn) if standard else "{}",
    }


# --- executions --------------------------------------------------------------------------


def _decode_cursor(token: str) -> dict[str, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise BadParameter("next: not a page token of this console") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadParameter("next: not a page token of this console")
    return value


def _encode_cursor(cursor: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode("ascii")


def _standard_machines(engine: Engine) -> list[str]:
    arns: list[str] = []
    token = None
    while True:
        page = engine.list_state_machines(maxResults=1000, nextToken=token)
        arns += [m["stateMachineArn"] for m in page["stateMachines"] if m["type"] == "STANDARD"]
        token = page.get("nextToken")
        if not token:
            return arns


def _all_machines_page(
    engine: Engine, status: str | None, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first across every machine: a k-way merge of each machine's own pages.

    The cursor keeps, for each machine with executions left, the Engine's token of its
    next unread one ("" for its first), so each page reads at most a page per machine.
    """
    cursor = _decode_cursor(token) if token else dict.fromkeys(_standard_machines(engine), "")
    fetched: dict[str, tuple[list[dict[str, Any]], str | None]] = {}
    for arn, at in cursor.items():
        page = engine.list_executions(
            stateMachineArn=arn, statusFilter=status, maxResults=PAGE_SIZE, nextToken=at or None
        )
        fetched[arn] = (page["executions"], page.get("nextToken"))
    merged = sorted(
        (item for items, _ in fetched.values() for item in items),
        key=lambda item: (item["startDate"], item["executionArn"]),
        reverse=True,
    )[:PAGE_SIZE]
    used: dict[str, int] = {}
    for item in merged:
        used[item["stateMachineArn"]] = used.get(item["stateMachineArn"], 0) + 1
    following: dict[str, str] = {}
    for arn, (items, after) in fetched.items():
        n = used.get(arn, 0)
        if n == len(items):
            if after:
                following[arn] = after
        elif n == 0:
            following[arn] = cursor[arn]
        else:
            # Part of this machine's page was shown: the Engine's token just past it.
            part = engine.list_executions(
                stateMachineArn=arn,
                statusFilter=status,
                maxResults=n,
                nextToken=cursor[arn] or None,
            )
            following[arn] = part["nextToken"]
    return merged, _encode_cursor(following) if following else None


def executions_page(
    engine: Engine, machine: str | None, status: str | None, token: str | None
) -> dict[str, Any]:
    """Executions newest first, filtered by machine and status, a page at a time."""
    if status is not None and status not in STATUSES:
        raise BadParameter(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    if machine:
        page = engine.list_executions(
            stateMachineArn=machine, statusFilter=status, maxResults=PAGE_SIZE, nextToken=token
        )
        items, following = page["executions"], page.get("nextToken")
    else:
        items, following = _all_machines_page(engine, status, token)
    return {
        "executions": items,
        "nextToken": following,
        "machine": machine,
        "status": status,
        "statuses": list(STATUSES),
        "machines": _standard_machines(engine),
    }


def whole_history(engine: Engine, arn: str) -> list[dict[str, Any]]:
    """Every event of an execution, oldest first (at most 25,000 in a Standard one)."""
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = engine.get_execution_history(
            executionArn=arn, maxResults=HISTORY_READ, nextToken=token
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def execution_page(engine: Engine, arn: str) -> dict[str, Any]:
    """One execution: summary, graph with outcomes, states' data, error and cause."""
    execution = engine.describe_execution(executionArn=arn)
    machine = engine.describe_state_machine_for_execution(executionArn=arn)
    graph, problem = graph_of(machine["definition"])
    events = whole_history(engine, arn)
    tracker = OutcomeTracker(ancestors(graph))
    tracker.feed(events)
    parent = None
    if execution.get("mapRunArn"):
        parent = engine.describe_map_run(mapRunArn=execution["mapRunArn"]).get("executionArn")
    transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
    return {
        "execution": execution,
        "inputText": pretty(execution.get("input")),
        "outputText": pretty(execution.get("output")),
        "graph": graph,
        "graphProblem": problem,
        "states": tracker.snapshot(),
        "visits": state_visits(events),
        "lastEventId": tracker.last_event_id,
        "transitions": transitions,
        "eventCount": len(events),
        "parentExecutionArn": parent,
        "mapStates": sorted({i["state"] for i in map_iterations(events)}),
        "mapRuns": engine.list_map_runs(executionArn=arn)["mapRuns"],
    }


def history_page(
    engine: Engine, arn: str, event_type: str | None, token: str | None
) -> dict[str, Any]:
    """A page of an execution's events, optionally of one type, with retries marked.

    With a type filter, Engine pages are read until one holds a match, so a page may
    show fewer rows than ``HISTORY_PAGE`` but is never empty while matches remain.
    """
    execution = engine.describe_execution(executionArn=arn, includedData="METADATA_ONLY")
    rows: list[dict[str, Any]] = []
    following = token
    while True:
        page = engine.get_execution_history(
            executionArn=arn, maxResults=HISTORY_PAGE, nextToken=following
        )
        following = page.get("nextToken")
        annotated = annotate(page["events"], execution["startDate"])
        rows += [r for r in annotated if event_type is None or r["type"] == event_type]
        if rows or not following:
            break
    return {
        "execution": execution,
        "events": rows,
        "nextToken": following,
        "type": event_type,
    }


def iterations_page(engine: Engine, arn: str) -> dict[str, Any]:
    """The Map iterations of an execution: inline ones from its history, distributed
    ones as map runs with their child executions."""
    execution = engine.describe_execution(executionArn=arn, includedData="METADATA_ONLY")
    runs = []
    for run in engine.list_map_runs(executionArn=arn)["mapRuns"]:
        description = engine.describe_map_run(mapRunArn=run["mapRunArn"])
        children = engine.list_executions(mapRunArn=run["mapRunArn"], maxResults=100)
        runs.append({"mapRun": description, "executions": children["executions"]})
    return {
        "execution": execution,
        "iterations": map_iterations(whole_history(engine, arn)),
        "mapRuns": runs,
    }
