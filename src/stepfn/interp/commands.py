"""What flows into the interpreter (stimuli) and out of it (commands).

Both are small frozen records with a JSON form (``to_dict``/``from_dict``), so that a
durable engine can keep them in its inbox, timer and task tables and replay them after
a crash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Start:
    """Start the execution: record ExecutionStarted and, unless ``begin`` is False, run
    the first states. ``begin=False`` and a later ``Begin`` split the two: TestState
    uses that, and databases written by stepfn 0.1 may still hold ``Begin`` stimuli."""

    begin: bool = True


@dataclass(frozen=True, slots=True)
class Begin:
    """Run the first state of an execution started with ``Start(begin=False)``."""


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    """A task finished with ``output``."""

    token: str
    output: Any


@dataclass(frozen=True, slots=True)
class TaskFailed:
    """A task failed with an error name and cause."""

    token: str
    error: str | None
    cause: str | None


@dataclass(frozen=True, slots=True)
class TaskSubmitted:
    """A task was handed over and goes on (a ``.sync`` job or nested execution started,
    a ``.waitForTaskToken`` message sent): record ``output``, the call's result, and
    keep waiting for the task's end."""

    token: str
    output: Any


@dataclass(frozen=True, slots=True)
class TaskStarted:
    """An activity worker took the task (GetActivityTask): ActivityStarted."""

    token: str
    worker_name: str | None = None


@dataclass(frozen=True, slots=True)
class TaskHeartbeat:
    """A worker reported that a task is still alive."""

    token: str


@dataclass(frozen=True, slots=True)
class TaskRestarted:
    """A task runs again, from ``at``, after its server stopped while running it (a
    crash, a lease that ran out): its timeout and heartbeat count again from then, as a
    task's time starts when it starts; the time the service was away is not the task's.
    Delivered stamped with the task's first start, so that it comes before the timers
    that the time away made due."""

    token: str
    at: float
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer came due."""

    timer_id: str


@dataclass(frozen=True, slots=True)
class Stop:
    """StopExecution: abort with an optional error and cause. With ``fail`` the
    execution fails instead (the engine's way to end one past a service limit)."""

    error: str | None = None
    cause: str | None = None
    fail: bool = False


@dataclass(frozen=True, slots=True)
class RedrivenChild:
    """A child execution of the map run a ``Redrive`` goes on with, as it stands:
    ``index`` of its item (or batch), its ``status``, the id its next history event
    gets, its redrive count and start date, and (SUCCEEDED) its ``output``."""

    index: int
    arn: str
    status: str
    next_event_id: int
    redrive_count: int = 0
    start_date: float = 0.0
    output: Any = None


@dataclass(frozen=True, slots=True)
class MapRunRedrive:
    """The distributed Map run that a ``Redrive`` goes on with, as AWS redrives one: its
    ARN, the id of its ``MapRunStarted`` event, its new redrive count, and its
    children. The engine's inbox keeps it without children (they can be many, their
    outputs large): the driver reads them from its store when it applies the stimulus."""

    arn: str
    started_event_id: int
    redrive_count: int
    children: tuple[RedrivenChild, ...] = ()


@dataclass(frozen=True, slots=True)
class Redrive:
    """RedriveExecution: run a failed, timed-out or aborted execution again from the
    state where it stopped. That state runs again whole, except a top-level inline Map
    or Parallel, whose iterations or branches that did not succeed run again (the run
    state kept the others), and a distributed Map with ``map_run``: it goes on with
    that map run, its succeeded children kept, its unsuccessful ones redriven, its
    items never started started."""

    redrive_count: int = 1
    map_run: MapRunRedrive | None = None


Stimulus = (
    Start
    | Begin
    | Redrive
    | TaskSucceeded
    | TaskFailed
    | TaskSubmitted
    | TaskStarted
    | TaskHeartbeat
    | TaskRestarted
    | TimerFired
    | Stop
)


@dataclass(frozen=True, slots=True)
class InvokeTask:
    """Run a task: call ``resource`` with ``payload``; answer with TaskSucceeded/Failed."""

    token: str
    resource: str
    payload: Any
    state_name: str
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    attempt: int = 0
    # The role the Task's ``Credentials`` name: its calls are made as that role.
    role_arn: str | None = None


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire ``TimerFired(timer_id)`` at ``due`` (seconds since the epoch)."""

    timer_id: str
    due: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """A timer that is no longer wanted; firing it anyway is harmless."""

    timer_id: str


@dataclass(frozen=True, slots=True)
class CancelTask:
    """A task whose result is no longer wanted (its state failed or was aborted)."""

    token: str


@dataclass(frozen=True, slots=True)
class StartChildExecution:
    """A distributed Map started an item (or a batch) as a child execution: record it.

    The child runs inside its parent's run state; its events come in the step's
    ``child_events`` under ``arn``, the first ``ExecutionStarted`` (with its input), the
    last one of ``ExecutionSucceeded``/``Failed``/``Aborted``/``TimedOut``.
    ``machine_key`` names the item processor it runs (``Interpreter.machines``);
    ``map_run_event_id`` is the id of its map run's ``MapRunStarted`` event in the
    history of the execution that started the map run."""

    arn: str
    name: str
    state_machine_arn: str
    map_run_arn: str
    map_run_event_id: int
    item_count: int
    machine_key: str
    index: int = 0  # of its item (or batch) in its Map


Command = InvokeTask | StartTimer | CancelTimer | CancelTask | StartChildExecution


_STIMULI: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Start,
        Begin,
        Redrive,
        TaskSucceeded,
        TaskFailed,
        TaskSubmitted,
        TaskStarted,
        TaskHeartbeat,
        TaskRestarted,
        TimerFired,
        Stop,
    )
}


def stimulus_to_dict(stimulus: Stimulus) -> dict[str, Any]:
    """A stimulus as JSON-friendly data: ``{"type": "TimerFired", "timer_id": "t1"}``
    (a redrive's map run and its children as nested objects)."""
    data = asdict(stimulus)
    data["type"] = type(stimulus).__name__
    return data


def stimulus_from_dict(data: dict[str, Any]) -> Stimulus:
    """The stimulus that ``stimulus_to_dict`` wrote."""
    fields = dict(data)
    cls = _STIMULI[fields.pop("type")]
    map_run = fields.get("map_run")
    if cls is Redrive and map_run is not None:
        children = tuple(RedrivenChild(**child) for child in map_run.get("children", ()))
        fields["map_run"] = MapRunRedrive(**{**map_run, "children": children})
    stimulus: Stimulus = cls(**fields)
    return stimulus
