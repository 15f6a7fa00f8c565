"""The run state of an execution: its threads and what they wait for.

It is all the interpreter needs to go on, and it has a JSON form (``to_json`` /
``from_json``) so that the engine can store it with each step and pick an execution up
again after a crash, in another process.

The items of a distributed Map are child executions with histories of their own, but
they run inside their parent's run state, as threads: one run state, one commit, one
lock. ``ChildExecution`` holds what a running child's history and context object need
(its event numbering above all); it is dropped when the child ends.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from stepfn.interp.events import to_json_text

# ``Thread.execution`` of a thread whose events are dropped: an item of a distributed Map
# whose children are not stored (ExecutionType EXPRESS), and the threads inside it.
SILENT = "-"


@dataclass(slots=True)
class FanOut:
    """The children of a Map or Parallel state and what they have produced."""

    kind: str  # "map" or "parallel"
    items: list[Any]
    results: list[Any]
    pending: deque[int]
    running: dict[int, str] = field(default_factory=dict)  # index -> thread id
    max_concurrency: int = 0
    failures: int = 0
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None
    effective_input: Any = None
    # A distributed Map's run: its ARN and the id of its MapRunStarted event, which tell
    # the children of this run from those of an earlier run of the same Map.
    map_run: str = ""
    map_run_event_id: int = 0
    # A redriven map run: the unsuccessful children its pending items redrive rather
    # than start anew, by item index.
    redriven: dict[int, RedriveOf] = field(default_factory=dict)
    # The children that succeeded, by index (an output may be null, so ``results`` alone
    # cannot tell). A top-level inline Map or Parallel that stopped its execution keeps
    # its fan-out, so that RedriveExecution runs only the other children again.
    succeeded: set[int] = field(default_factory=set)
    # What a Map with an ItemReader or a ResultWriter waits for: "" (its children),
    # "reading" (its items) or "writing" (its results); see item_reader, result_writer.
    phase: str = ""
    # A map run that failed while its results are written: [error, cause] it fails
    # with once they are (result_writer.py).
    failure: list[str | None] | None = None


@dataclass(slots=True)
class RedriveOf:
    """An unsuccessful child execution that a redriven map run runs again."""

    arn: str
    next_event_id: int  # the id of the next event of its history
    redrive_count: int  # its redrives before this one
    start_time: float


@dataclass(slots=True)
class Thread:
    """One path of control: the execution, a Parallel branch or a Map iteration."""

    id: str
    machine_key: str
    parent: str | None = None
    index: int = 0  # branch or item index in the parent's fan-out
    state: str = ""
    state_input: Any = None
    entered_id: int = 0
    entered_time: float = 0.0
    last_event_id: int = 0
    attempts: dict[int, int] = field(default_factory=dict)  # retrier index -> retries done
    retry_count: int = 0
    token: str | None = None
    timers: dict[str, str] = field(default_factory=dict)  # timer id -> purpose
    fan: FanOut | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    map_item: tuple[int, Any] | None = None
    done: bool = False
    # Where the thread's events go: "" to the execution's own history, a child
    # execution's ARN to that child's, SILENT nowhere. A thread's children inherit it.
    # (One field, so that recording an event of the execution's own costs one test.)
    execution: str = ""
    # The event to record when the thread first runs (a Map iteration's start).
    announce: tuple[str, dict[str, Any]] | None = None

    @property
    def silent(self) -> bool:
        """Whether the thread's events are dropped (see ``SILENT``)."""
        return self.execution == SILENT


@dataclass(slots=True)
class ChildExecution:
    """A running child execution of a distributed Map (its root thread is ``thread``)."""

    arn: str
    name: str
    thread: str
    input: Any
    start_time: float
    label: str  # its Map's label: the child runs the state machine <parent's>/<label>
    next_event_id: int = 1
    redrive_count: int = 0  # $$.Execution.RedriveCount


@dataclass(slots=True)
class RunState:
    """Everything the interpreter needs to go on with an execution."""

    status: str = "RUNNING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    next_event_id: int = 1
    next_timer: int = 0
    threads: dict[str, Thread] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # task token -> thread id
    timers: dict[str, str] = field(default_factory=dict)  # timer id -> thread id
    next_thread: int = 0
    children: dict[str, ChildExecution] = field(default_factory=dict)  # by ARN, running
    # The time of the latest step: stimuli are applied at their own time, but never
    # before it, so an execution's history never goes back in time.
    last_time: float = 0.0
    # A step that ran out of its budget yields: the states it had still to enter, as
    # [thread id, state name, input], wait here for its "resume" timer (due at once).
    pending: list[list[Any]] = field(default_factory=list)
    # States entered since the execution last waited for a task, a timer or a callback,
    # across the steps it yielded in (see the interpreter's STEP_TRANSITIONS).
    busy: int = 0
    # Steps in a row that yielded: the driver grows the budget with it, since every step
    # reads and writes the whole run state (a big Map's is big).
    yields: int = 0


def run_state_to_dict(run: RunState) -> dict[str, Any]:
    """The run state as JSON-friendly data."""
    return {
        "status": run.status,
        "output": run.output,
        "error": run.error,
        "cause": run.cause,
        "next_event_id": run.next_event_id,
        "next_timer": run.next_timer,
        "next_thread": run.next_thread,
        "last_time": run.last_time,
        "tokens": run.tokens,
        "timers": run.timers,
        "threads": [_thread_to_dict(t) for t in run.threads.values()],
        "children": [
            {
                "arn": c.arn,
                "name": c.name,
                "thread": c.thread,
                "input": c.input,
                "start_time": c.start_time,
                "label": c.label,
                "next_event_id": c.next_event_id,
                "redrive_count": c.redrive_count,
            }
            for c in run.children.values()
        ],
        "pending": run.pending,
        "busy": run.busy,
        "yields": run.yields,
    }


def run_state_from_dict(data: dict[str, Any]) -> RunState:
    """The run state that ``run_state_to_dict`` wrote."""
    run = RunState(
        status=data["status"],
        output=data["output"],
        error=data["error"],
        cause=data["cause"],
        next_event_id=data["next_event_id"],
        next_timer=data["next_timer"],
        next_thread=data["next_thread"],
        last_time=data.get("last_time", 0.0),
        tokens=dict(data["tokens"]),
        timers=dict(data["timers"]),
        pending=list(data.get("pending", ())),
        busy=data.get("busy", 0),
        yields=data.get("yields", 0),
    )
    for item in data["threads"]:
        thread = _thread_from_dict(item)
        run.threads[thread.id] = thread
    # Run states written before child executions existed have none.
    for item in data.get("children", ()):
        child = ChildExecution(**item)
        run.children[child.arn] = child
    return run


def run_state_to_json(run: RunState) -> str:
    """The run state as JSON text."""
    return to_json_text(run_state_to_dict(run))


def run_state_from_json(text: str) -> RunState:
    """The run state from its JSON text."""
    return run_state_from_dict(json.loads(text))


def _thread_to_dict(thread: Thread) -> dict[str, Any]:
    fan = thread.fan
    return {
        "id": thread.id,
        "machine_key": thread.machine_key,
        "parent": thread.parent,
        "index": thread.index,
        "state": thread.state,
        "state_input": thread.state_input,
        "entered_id": thread.entered_id,
        "entered_time": thread.entered_time,
        "last_event_id": thread.last_event_id,
        # JSON object keys are text: keep the retrier indexes as pairs.
        "attempts": sorted(thread.attempts.items()),
        "retry_count": thread.retry_count,
        "token": thread.token,
        "timers": thread.timers,
        "fan": None
        if fan is None
        else {
            "kind": fan.kind,
            "items": fan.items,
            "results": fan.results,
            "pending": list(fan.pending),
            "running": sorted(fan.running.items()),
            "max_concurrency": fan.max_concurrency,
            "failures": fan.failures,
            "tolerated_count": fan.tolerated_count,
            "tolerated_percentage": fan.tolerated_percentage,
            "effective_input": fan.effective_input,
            "map_run": fan.map_run,
            "map_run_event_id": fan.map_run_event_id,
            "redriven": [
                [index, r.arn, r.next_event_id, r.redrive_count, r.start_time]
                for index, r in sorted(fan.redriven.items())
            ],
            "succeeded": sorted(fan.succeeded),
            "phase": fan.phase,
            "failure": fan.failure,
        },
        "variables": thread.variables,
        "map_item": None if thread.map_item is None else list(thread.map_item),
        "done": thread.done,
        "execution": thread.execution,
        "announce": None if thread.announce is None else list(thread.announce),
    }


def _thread_from_dict(data: dict[str, Any]) -> Thread:
    fan_data = data["fan"]
    fan = None
    if fan_data is not None:
        fan = FanOut(
            kind=fan_data["kind"],
            items=fan_data["items"],
            results=fan_data["results"],
            pending=deque(fan_data["pending"]),
            running={int(i): tid for i, tid in fan_data["running"]},
            max_concurrency=fan_data["max_concurrency"],
            failures=fan_data["failures"],
            tolerated_count=fan_data["tolerated_count"],
            tolerated_percentage=fan_data["tolerated_percentage"],
            effective_input=fan_data["effective_input"],
            map_run=fan_data.get("map_run", ""),
            map_run_event_id=fan_data.get("map_run_event_id", 0),
            redriven={
                index: RedriveOf(arn, next_id, count, start)
                for index, arn, next_id, count, start in fan_data.get("redriven", ())
            },
            # Run states written before inline redrive kept successes have none.
            succeeded=set(fan_data.get("succeeded", ())),
            phase=fan_data.get("phase", ""),
            failure=fan_data.get("failure"),
        )
    map_item = data["map_item"]
    announce = data["announce"]
    return Thread(
        id=data["id"],
        machine_key=data["machine_key"],
        parent=data["parent"],
        index=data["index"],
        state=data["state"],
        state_input=data["state_input"],
        entered_id=data["entered_id"],
        entered_time=data["entered_time"],
        last_event_id=data["last_event_id"],
        attempts={int(k): v for k, v in data["attempts"]},
        retry_count=data["retry_count"],
        token=data["token"],
        timers=dict(data["timers"]),
        fan=fan,
        variables=dict(data["variables"]),
        map_item=None if map_item is None else (map_item[0], map_item[1]),
        done=data["done"],
        # Run states written before child executions had "silent" instead.
        execution=data.get("execution", SILENT if data.get("silent") else ""),
        announce=None if announce is None else (announce[0], announce[1]),
    )
