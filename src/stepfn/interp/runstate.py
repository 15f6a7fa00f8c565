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
import operator
from collections import deque
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from stepfn.interp.events import to_json_text

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# ``Thread.execution`` of a thread whose events are dropped: an item of a distributed Map
# whose children are not stored (ExecutionType EXPRESS), and the threads inside it.
SILENT = "-"

R = TypeVar("R", bound="DataclassInstance")


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


class _Form(Generic[R]):
    """How the records of one dataclass are written as JSON-friendly data and read back.

    Every field is written as it is (a JSON value already) but those that ``encode``
    converts, and read back through ``decode`` (None stays None). A field the data
    lacks (a run state written before the field existed) gets its default. What is read
    is not copied: a record read shares its lists and dicts with the data (fresh from
    JSON text).
    """

    def __init__(
        self,
        kind: type[R],
        encode: dict[str, Callable[[Any], Any]] | None = None,
        decode: dict[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        self.kind = kind
        self.names = tuple(f.name for f in fields(kind))
        # Run states are read at every step: the fields are taken by one C call, and
        # converted by position.
        self._items = operator.itemgetter(*self.names)
        self._decode = [(self.names.index(name), f) for name, f in (decode or {}).items()]
        self._fields = fields(kind)
        self.dump = self._compiled_dump(encode or {})

    def _compiled_dump(self, encode: dict[str, Callable[[Any], Any]]) -> Callable[[R], dict]:
        """``dump`` as one function that builds the dict in a single expression: the
        run state is written at every step, and a Map's holds a record per iteration,
        so the generic way (a list of values, converted, then zipped) costs twice as
        much. The names are a dataclass's fields: identifiers, safe to compile."""
        converters = {f"_c{i}": f for i, f in enumerate(encode.values())}
        by_name = dict(zip(encode, converters, strict=True))
        entries = []
        for name in self.names:
            if name in by_name:
                c = by_name[name]
                entries.append(f"{name!r}: None if (v := r.{name}) is None else {c}(v)")
            else:
                entries.append(f"{name!r}: r.{name}")
        source = "def dump(r):\n    return {" + ", ".join(entries) + "}\n"
        namespace: dict[str, Any] = dict(converters)
        exec(compile(source, f"<dump of {self.kind.__name__}>", "exec"), namespace)
        dump: Callable[[R], dict[str, Any]] = namespace["dump"]
        dump.__doc__ = "The record as JSON-friendly data."
        return dump

    def load(self, data: dict[str, Any]) -> R:
        """The record that ``dump`` wrote."""
        try:
            values = list(self._items(data))
        except KeyError:
            values = self._with_defaults(data)
        else:
            for index, decode in self._decode:
                if values[index] is not None:
                    values[index] = decode(values[index])
        return self.kind(*values)

    def _with_defaults(self, data: dict[str, Any]) -> list[Any]:
        # Data from before some field existed: the fields it has, decoded, and the
        # defaults (in the record's form already) of those it lacks.
        values = [data.get(name) for name in self.names]
        for index, decode in self._decode:
            if values[index] is not None:
                values[index] = decode(values[index])
        for index, f in enumerate(self._fields):
            if f.name in data:
                continue
            if f.default_factory is not MISSING:
                values[index] = f.default_factory()
            elif f.default is not MISSING:
                values[index] = f.default
            else:
                raise KeyError(f.name)
        return values


def _pairs(mapping: dict[Any, Any]) -> list[tuple[Any, Any]]:
    # JSON object keys are text: integer keys are kept as (key, value) pairs. (Most
    # are empty: a thread's retries.)
    return sorted(mapping.items()) if mapping else []


def _int_keys(pairs: list[list[Any]]) -> dict[int, Any]:
    return {int(key): value for key, value in pairs}


def _redrive_to_data(redriven: dict[int, RedriveOf]) -> list[list[Any]]:
    return [
        [index, r.arn, r.next_event_id, r.redrive_count, r.start_time]
        for index, r in sorted(redriven.items())
    ]


def _redrive_from_data(data: list[list[Any]]) -> dict[int, RedriveOf]:
    return {
        index: RedriveOf(arn, next_id, count, start) for index, arn, next_id, count, start in data
    }


def _pair(value: list[Any]) -> tuple[Any, Any]:
    return (value[0], value[1])


_FAN = _Form(
    FanOut,
    encode={
        "pending": list,
        "running": _pairs,
        "redriven": _redrive_to_data,
        "succeeded": sorted,
    },
    decode={
        "pending": deque,
        "running": _int_keys,
        "redriven": _redrive_from_data,
        "succeeded": set,
    },
)
_THREAD = _Form(
    Thread,
    encode={"attempts": _pairs, "fan": _FAN.dump, "map_item": list, "announce": list},
    decode={"attempts": _int_keys, "fan": _FAN.load, "map_item": _pair, "announce": _pair},
)
_CHILD = _Form(ChildExecution)


def _thread_from_dict(data: dict[str, Any]) -> Thread:
    if "execution" not in data and data.get("silent"):
        # Run states written before child executions marked such threads "silent".
        data = {**data, "execution": SILENT}
    return _THREAD.load(data)


_RUN = _Form(
    RunState,
    # Threads and children as lists: each holds its own key.
    encode={
        "threads": lambda threads: [_THREAD.dump(t) for t in threads.values()],
        "children": lambda children: [_CHILD.dump(c) for c in children.values()],
    },
    decode={
        "threads": lambda items: {t.id: t for t in map(_thread_from_dict, items)},
        "children": lambda items: {c.arn: c for c in map(_CHILD.load, items)},
    },
)


def run_state_to_dict(run: RunState) -> dict[str, Any]:
    """The run state as JSON-friendly data."""
    return _RUN.dump(run)


def run_state_from_dict(data: dict[str, Any]) -> RunState:
    """The run state that ``run_state_to_dict`` wrote."""
    return _RUN.load(data)


def run_state_to_json(run: RunState) -> str:
    """The run state as JSON text."""
    return to_json_text(run_state_to_dict(run))


def run_state_from_json(text: str) -> RunState:
    """The run state from its JSON text."""
    return run_state_from_dict(json.loads(text))
