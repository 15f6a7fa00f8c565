"""The store: everything the service keeps, behind one interface.

The engine reads and writes only through ``Store``; ``MemoryStore`` (tests, Express
executions) and ``SqliteStore`` (the embedded default) implement it, and a PostgreSQL
store will. Every method is one transaction: a step of an execution (its new run state,
history events, timers, tasks and consumed inbox messages) commits all together or not
at all, which is what makes a crash lose nothing and record nothing twice.

Records are plain dataclasses of JSON-friendly values; times are seconds since the
epoch (floats); JSON documents (definitions, inputs, run states) are kept as text.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stepfn.store.iam import IamStore


class StoreError(Exception):
    """Base class of the store's own errors."""


class Conflict(StoreError):
    """A write that collides with what is stored: a duplicate key, or a step committed
    against a run state that another writer has moved on since it was read."""


class StoreDamaged(StoreError):
    """The database is damaged (a file that is not a database, or malformed pages): the
    store refuses writes from then on, and ``Store.health()`` says why."""


# --- records -------------------------------------------------------------------------------


@dataclass
class StateMachineRecord:
    """A state machine (its latest revision)."""

    arn: str
    name: str
    definition: str
    role_arn: str
    type: str  # "STANDARD" | "EXPRESS"
    creation_date: float
    update_date: float | None = None
    status: str = "ACTIVE"
    description: str = ""
    revision_id: str = ""
    logging_configuration: dict[str, Any] = field(default_factory=dict)
    tracing_configuration: dict[str, Any] = field(default_factory=dict)
    encryption_configuration: dict[str, Any] = field(default_factory=dict)
    label: str | None = None


@dataclass
class VersionRecord:
    """A published, immutable version of a state machine (``<sm arn>:<number>``)."""

    arn: str
    state_machine_arn: str
    version: int
    definition: str
    role_arn: str
    type: str
    creation_date: float
    description: str = ""
    revision_id: str = ""
    logging_configuration: dict[str, Any] = field(default_factory=dict)
    tracing_configuration: dict[str, Any] = field(default_factory=dict)


@dataclass
class AliasRecord:
    """A named pointer to one or two versions (``<sm arn>:<alias name>``)."""

    arn: str
    state_machine_arn: str
    name: str
    routing_configuration: list[dict[str, Any]]
    creation_date: float
    update_date: float | None = None
    description: str = ""


@dataclass
class ActivityRecord:
    """An activity: a queue of tasks that workers poll."""

    arn: str
    name: str
    creation_date: float


@dataclass
class ExecutionSummary:
    """What a list of executions shows of each: no input, output, definition or run
    state (``Store.list_execution_summaries``)."""

    arn: str
    state_machine_arn: str
    name: str
    status: str
    start_date: float
    stop_date: float | None = None
    version_arn: str | None = None
    alias_arn: str | None = None
    map_run_arn: str | None = None
    item_count: int | None = None
    redrive_count: int = 0
    redrive_date: float | None = None


@dataclass(frozen=True)
class ExecutionQuery:
    """Which executions ``Store.list_executions`` answers: those matching every filter
    given (None: any), a page of them.

    ``map_run_event_id``: only the children of that run of the map run. ``redriven``:
    only those redriven at least once (True) or never (False). ``limit``/``offset`` page
    the answer, so a page costs what it holds rather than every execution of the state
    machine.
    """

    state_machine_arn: str | None = None
    status: str | None = None
    version_arn: str | None = None
    alias_arn: str | None = None
    map_run_arn: str | None = None
    map_run_event_id: int | None = None
    redriven: bool | None = None
    limit: int | None = None
    offset: int = 0


@dataclass
class ExecutionRecord:
    """An execution and its interpreter run state."""

    arn: str
    state_machine_arn: str  # the state machine (unqualified ARN)
    name: str
    type: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
    input: str
    start_date: float
    definition: str  # the definition text this execution runs
    role_arn: str = ""
    version_arn: str | None = None
    alias_arn: str | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: float | None = None
    run_state: str | None = None  # JSON text of the interpreter's RunState
    next_event_id: int = 1  # the id the next history event gets (optimistic lock)
    redrive_count: int = 0
    redrive_date: float | None = None
    trace_header: str | None = None
    map_run_arn: str | None = None
    state_machine_revision_id: str = ""
    # A distributed Map's child execution: how many items it runs (several for a batch)
    # and the id of its map run's MapRunStarted event in the history of the execution
    # that started the map run. A Map that runs again (in a loop, on a retry or redrive)
    # keeps its map run ARN; that id tells its runs apart.
    item_count: int | None = None
    map_run_event_id: int | None = None
    # ... and the index of its item (or batch) in its Map: a redriven map run puts the
    # result of each child back at that place.
    item_index: int | None = None

    def copy(self) -> ExecutionRecord:
        """A shallow copy: what ``copy.copy`` makes, without its generic path (the
        worker keeps one of each row it steps)."""
        made = object.__new__(type(self))
        made.__dict__.update(self.__dict__)
        return made

    def as_running(self, **changes: Any) -> ExecutionRecord:
        """A copy of the record as the execution was (or is again) while it ran: RUNNING,
        with no output, error, cause or stop date; ``changes``: other fields to set."""
        return dataclasses.replace(
            self,
            status="RUNNING",
            output=None,
            error=None,
            cause=None,
            stop_date=None,
            **changes,
        )


@dataclass
class StoredEvent:
    """A history event as GetExecutionHistory returns it, timestamp as epoch seconds
    and details with payloads already rendered to text."""

    id: int
    previous_event_id: int
    timestamp: float
    type: str
    details: dict[str, Any] | None = None


@dataclass
class TimerRecord:
    """A due time at which ``TimerFired(timer_id)`` goes to the execution's inbox."""

    execution_arn: str
    timer_id: str
    due: float


@dataclass
class InboxMessage:
    """A stimulus waiting for an execution's worker (a task result, a timer, a stop)."""

    id: int
    execution_arn: str
    stimulus: dict[str, Any]
    created: float = 0.0


@dataclass
class TaskRecord:
    """A task attempt: a Lambda to invoke, an activity task to hand out, or a callback
    whose token an outside system will send back."""

    token: str
    execution_arn: str
    resource: str
    payload: str  # JSON text
    state_name: str
    kind: str  # "invoke" (run by an adapter) | "activity" | "callback"
    status: str = "scheduled"  # scheduled | dispatched | done
    created: float = 0.0
    activity_arn: str | None = None
    worker_name: str | None = None
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    attempt: int = 0
    # The server running it and until when (leased work: see Store.claim_tasks); read
    # back only by the claims, which need not return them.
    lease_owner: str | None = None
    lease_expires: float | None = None


@dataclass
class ChildStep:
    """What a step of its parent changes of a child execution (a distributed Map's item).

    A child runs inside its parent's run state, so it changes only with its parent's
    steps, in the same commit: ``new`` is its row when it started in this step (as it
    stands after the step: it may have ended already), ``events`` its new history
    events; when it ended in this step, ``status`` and its result say how. A child
    redriven in this step (its parent redrove its map run) has ``redrive_count`` and
    ``redrive_date``: its row runs again, its last result cleared (or replaced, when
    it ended again within the step).
    """

    arn: str
    events: list[StoredEvent] = field(default_factory=list)
    new: ExecutionRecord | None = None
    status: str = "RUNNING"
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: float | None = None
    next_event_id: int = 1
    redrive_count: int | None = None
    redrive_date: float | None = None


@dataclass
class NewStart:
    """One new execution as ``Store.create_execution`` adds it: its row, its first
    events, and the timers, inbox stimuli, tasks and child executions of its first
    step."""

    record: ExecutionRecord
    events: Sequence[StoredEvent]
    timers: Sequence[TimerRecord] = ()
    inbox: Sequence[dict[str, Any]] = ()
    tasks: Sequence[TaskRecord] = ()
    children: Sequence[ChildStep] = ()


@dataclass
class TimerRound:
    """What one look at the timers found (``Store.fire_timers_round``)."""

    #: The executions that got a TimerFired, earliest due first (their ARNs).
    fired: list[str]
    #: When none was due: the earliest due time of any timer (None: there is none).
    #: When some fired it is not known (the timers left were not read).
    next_due: float | None = None


@dataclass
class StepCommit:
    """Everything one interpreter step changes for one execution, committed atomically.

    ``expected_next_event_id`` is the execution's ``next_event_id`` when its run state
    was read: the commit fails with ``Conflict`` when the stored one differs, so a step
    can never be recorded twice. ``expected_run_state``, when given, is the run state
    text the step started from, which the stored one must equal as well (a step made
    from a run state kept in memory rather than read: see ``durable/run_cache.py``).
    """

    execution_arn: str
    expected_next_event_id: int
    next_event_id: int
    run_state: str
    status: str
    events: list[StoredEvent] = field(default_factory=list)
    consumed_inbox_ids: list[int] = field(default_factory=list)
    new_inbox: list[dict[str, Any]] = field(default_factory=list)  # stimuli for itself
    new_timers: list[TimerRecord] = field(default_factory=list)
    cancelled_timer_ids: list[str] = field(default_factory=list)
    new_tasks: list[TaskRecord] = field(default_factory=list)
    finished_task_tokens: list[str] = field(default_factory=list)
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: float | None = None
    # A redrive: the new count and date, and the old result (output, error, cause, stop
    # date) cleared, in the same commit as the Redrive stimulus.
    redrive_count: int | None = None
    redrive_date: float | None = None
    # Child executions (distributed Map items) this step started, moved on or ended.
    children: list[ChildStep] = field(default_factory=list)
    # The server committing, when it stepped the execution under a lease
    # (Store.claim_executions): the commit is refused unless it still holds it.
    lease_owner: str | None = None
    expected_run_state: str | None = None  # see the class's docstring


@dataclass
class LogGroupRecord:
    """A CloudWatch Logs log group, the destination of execution logs.

    Times here are milliseconds since the epoch (integers), as CloudWatch Logs keeps
    them, unlike the seconds of the Step Functions records.
    """

    name: str
    creation_time: int
    retention_in_days: int | None = None
    kms_key_id: str | None = None
    log_group_class: str = "STANDARD"
    stored_bytes: int = 0  # computed when read: the sum of its streams' bytes


@dataclass
class LogStreamRecord:
    """A log stream of a log group, with what its events sum up to (milliseconds)."""

    log_group_name: str
    name: str
    creation_time: int
    first_event_timestamp: int | None = None
    last_event_timestamp: int | None = None
    last_ingestion_time: int | None = None
    stored_bytes: int = 0


@dataclass
class LogEventRecord:
    """One log event. ``id`` is the store's order of arrival, given when it is stored:
    with ``timestamp`` it is the event's position, which pagination tokens name."""

    log_group_name: str
    log_stream_name: str
    timestamp: int
    message: str
    ingestion_time: int = 0
    id: int = 0


@dataclass(frozen=True)
class LogQuery:
    """Which events of a log group ``Store.log_events`` answers, and in which order.

    Attributes:
        log_group_name: the log group.
        streams: only events of these streams.
        stream_prefix: only events of streams whose name starts with this.
        start: only events at or after this timestamp (milliseconds).
        end: only events before this timestamp.
        terms: only events whose message contains every one of these texts
            (case-sensitive).
        after: only events past this (timestamp, id) position.
        before: only events before this (timestamp, id) position.
        limit: at most this many events (from the first in the order asked).
        reverse: newest first.
    """

    log_group_name: str
    streams: Sequence[str] | None = None
    stream_prefix: str | None = None
    start: int | None = None
    end: int | None = None
    terms: Sequence[str] = ()
    after: tuple[int, int] | None = None
    before: tuple[int, int] | None = None
    limit: int | None = None
    reverse: bool = False


@dataclass(frozen=True)
class Lease:
    """The terms of a claim or a renewal: ``owner`` holds what it takes until ``now +
    seconds``; ``now`` is also what tells whose leases have run out."""

    owner: str
    now: float
    seconds: float

    @property
    def expires(self) -> float:
        """When what is taken on these terms is free again, unless renewed."""
        return self.now + self.seconds


# --- the interface -----------------------------------------------------------------------------


class Store(IamStore):
    """The persistence interface of the engine. Each method is one transaction."""

    #: Whether several servers may write this store at once (a database server): the
    #: engine then claims its work with leases. SQLite has one writer at a time.
    shared: bool = False

    # state machines, versions, aliases -------------------------------------------------------

    @abc.abstractmethod
    def insert_state_machine(self, record: StateMachineRecord) -> None:
        """Add a state machine; ``Conflict`` when its ARN exists."""

    @abc.abstractmethod
    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        """The state machine with this (unqualified) ARN."""

    @abc.abstractmethod
    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Replace a stored state machine."""

    @abc.abstractmethod
    def delete_state_machine(self, arn: str) -> None:
        """Remove a state machine with its versions, aliases and tags (not executions)."""

    @abc.abstractmethod
    def list_state_machines(self) -> list[StateMachineRecord]:
        """All state machines, oldest first."""

    @abc.abstractmethod
    def insert_version(self, record: VersionRecord) -> None:
        """Add a version; ``Conflict`` when its ARN exists."""

    @abc.abstractmethod
    def get_version(self, arn: str) -> VersionRecord | None:
        """The version with this ARN."""

    @abc.abstractmethod
    def list_versions(self, state_machine_arn: str) -> list[VersionRecord]:
        """A state machine's versions, newest first."""

    @abc.abstractmethod
    def delete_version(self, arn: str) -> None:
        """Remove a version."""

    @abc.abstractmethod
    def insert_alias(self, record: AliasRecord) -> None:
        """Add an alias; ``Conflict`` when its ARN exists."""

    @abc.abstractmethod
    def get_alias(self, arn: str) -> AliasRecord | None:
        """The alias with this ARN."""

    @abc.abstractmethod
    def update_alias(self, record: AliasRecord) -> None:
        """Replace a stored alias."""

    @abc.abstractmethod
    def delete_alias(self, arn: str) -> None:
        """Remove an alias."""

    @abc.abstractmethod
    def list_aliases(self, state_machine_arn: str) -> list[AliasRecord]:
        """A state machine's aliases, oldest first."""

    # activities and tags -------------------------------------------------------------------------

    @abc.abstractmethod
    def insert_activity(self, record: ActivityRecord) -> None:
        """Add an activity; ``Conflict`` when its ARN exists."""

    @abc.abstractmethod
    def get_activity(self, arn: str) -> ActivityRecord | None:
        """The activity with this ARN."""

    @abc.abstractmethod
    def delete_activity(self, arn: str) -> None:
        """Remove an activity and its tags."""

    @abc.abstractmethod
    def list_activities(self) -> list[ActivityRecord]:
        """All activities, oldest first."""

    @abc.abstractmethod
    def get_tags(self, resource_arn: str) -> dict[str, str]:
        """A resource's tags."""

    @abc.abstractmethod
    def set_tags(self, resource_arn: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags of a resource."""

    @abc.abstractmethod
    def remove_tags(self, resource_arn: str, keys: Iterable[str]) -> None:
        """Remove tags of a resource (missing keys are ignored)."""

    # executions ----------------------------------------------------------------------------------

    def create_execution(self, start: NewStart) -> None:
        """Add an execution with its first events, timers, tasks and inbox stimuli, and
        the child executions its first step started, in one transaction; ``Conflict``
        when its ARN (or a child's, or a task token) exists."""
        error = self.create_executions([start])[0]
        if error is not None:
            raise error

    @abc.abstractmethod
    def create_executions(self, starts: Sequence[NewStart]) -> list[BaseException | None]:
        """Add many executions as ``create_execution`` adds one, in as few transactions
        as the store can: each one's error (``Conflict``, say), or None when it was
        added. One that fails takes no other with it."""

    @abc.abstractmethod
    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """The execution with this ARN."""

    @abc.abstractmethod
    def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        """The executions ``query`` asks for, newest first (by start date; the later
        written first among equal dates)."""

    @abc.abstractmethod
    def list_execution_summaries(self, query: ExecutionQuery) -> list[ExecutionSummary]:
        """``list_executions`` without the large columns (input, output, definition,
        run state), which a listing does not show: the same filters and order."""

    @abc.abstractmethod
    def count_executions(self, state_machine_arn: str) -> dict[str, int]:
        """How many executions of a state machine there are, by status (the statuses
        it has none of are left out): the same executions as ``list_executions(
        ExecutionQuery(state_machine_arn))``, counted over the index rather than read."""

    @abc.abstractmethod
    def count_map_run_children(
        self, map_run_arn: str, map_run_event_id: int
    ) -> dict[str, tuple[int, int]]:
        """The child executions of one run of a map run, by status: (executions, items)."""

    @abc.abstractmethod
    def update_execution(self, record: ExecutionRecord) -> None:
        """Replace a stored execution's row (redrive; not for steps: see commit_steps)."""

    @abc.abstractmethod
    def commit_steps(self, commits: Sequence[StepCommit]) -> list[str]:
        """Commit steps of (possibly many) executions in one transaction, with the child
        executions each step changed.

        Returns the ARNs of the commits refused because their
        ``expected_next_event_id`` (or ``expected_run_state``) no longer matched (those
        change nothing); the others
        are committed. Raises only on storage failure, with nothing committed.
        """

    @abc.abstractmethod
    def get_events(
        self, execution_arn: str, after_id: int = 0, limit: int | None = None, reverse: bool = False
    ) -> list[StoredEvent]:
        """History events in id order (or reverse), starting after ``after_id`` (in
        reverse: before it, when it is not 0)."""

    @abc.abstractmethod
    def count_events(self, execution_arn: str) -> int:
        """How many history events an execution has."""

    # inbox, timers, tasks ----------------------------------------------------------------------

    @abc.abstractmethod
    def add_inbox(self, execution_arn: str, stimulus: dict[str, Any], now: float) -> int:
        """Queue a stimulus for an execution; returns its message id."""

    @abc.abstractmethod
    def inbox(self, execution_arn: str) -> list[InboxMessage]:
        """An execution's waiting stimuli, oldest first."""

    def step_reads(
        self, arns: Sequence[str], without_inbox: Collection[str] = ()
    ) -> dict[str, tuple[ExecutionRecord | None, list[InboxMessage]]]:
        """What a worker reads to step these executions: each one's row (None when
        there is none) and its waiting stimuli, oldest first, as ``get_execution`` and
        ``inbox`` give them; the inbox of those in ``without_inbox`` is not read (an
        empty list). A store may answer for the whole batch at once (PostgreSQL: one
        query); this default reads each one, its row before its inbox."""
        found: dict[str, tuple[ExecutionRecord | None, list[InboxMessage]]] = {}
        for arn in dict.fromkeys(arns):
            execution = self.get_execution(arn)
            found[arn] = (execution, [] if arn in without_inbox else self.inbox(arn))
        return found

    @abc.abstractmethod
    def executions_with_inbox(self, limit: int = 1000) -> list[str]:
        """ARNs of executions that have waiting stimuli, oldest message first."""

    @abc.abstractmethod
    def fire_due_timers(self, now: float, limit: int = 1000) -> list[str]:
        """Move timers due at ``now`` into their executions' inboxes as
        ``{"type": "TimerFired", "timer_id": ...}``, in one transaction; returns the
        ARNs of the executions that got one."""

    @abc.abstractmethod
    def next_timer_due(self) -> float | None:
        """The earliest due time of any timer."""

    def fire_timers_round(self, now: float, limit: int = 1000) -> TimerRound:
        """``fire_due_timers``, and when nothing was due, the earliest due time: what a
        scheduler's round needs. The earliest due time is read first, and timers
        fired only once it has come: a round that finds nothing due (most of them) is
        that one read."""
        earliest = self.next_timer_due()
        if earliest is None or earliest > now:
            return TimerRound([], earliest)
        return TimerRound(self.fire_due_timers(now, limit))

    @abc.abstractmethod
    def get_task(self, token: str) -> TaskRecord | None:
        """The task with this token."""

    @abc.abstractmethod
    def tasks_with_status(self, status: str, kind: str | None = None) -> list[TaskRecord]:
        """Tasks in a status (and of a kind), oldest first: recovery re-dispatches
        ``dispatched`` invoke tasks after a crash."""

    @abc.abstractmethod
    def mark_task(self, token: str, status: str, worker_name: str | None = None) -> None:
        """Move a task to a status."""

    @abc.abstractmethod
    def claim_activity_task(
        self, activity_arn: str, worker_name: str | None, now: float
    ) -> TaskRecord | None:
        """Take the oldest ``scheduled`` task of an activity (now ``dispatched``) and
        queue its ``TaskStarted`` stimulus (created at ``now``) for its execution, in one
        transaction: a task is never handed out without its execution hearing of it.
        None when no task waits."""

    # log groups, streams and events (CloudWatch Logs) ------------------------------------------

    @abc.abstractmethod
    def create_log_group(self, record: LogGroupRecord) -> None:
        """Add a log group; ``Conflict`` when its name exists."""

    @abc.abstractmethod
    def get_log_group(self, name: str) -> LogGroupRecord | None:
        """The log group with this name (its stored bytes summed)."""

    @abc.abstractmethod
    def update_log_group(self, record: LogGroupRecord) -> None:
        """Replace a log group's settings; ``StoreError`` when there is none."""

    @abc.abstractmethod
    def list_log_groups(self, prefix: str | None = None) -> list[LogGroupRecord]:
        """Log groups whose name starts with ``prefix`` (all when None), by name."""

    @abc.abstractmethod
    def delete_log_group(self, name: str) -> None:
        """Remove a log group with its streams, events and tags (nothing when missing)."""

    @abc.abstractmethod
    def create_log_stream(self, record: LogStreamRecord) -> None:
        """Add an empty log stream; ``Conflict`` when it exists, ``StoreError`` when its
        log group does not."""

    @abc.abstractmethod
    def list_log_streams(
        self, log_group_name: str, prefix: str | None = None
    ) -> list[LogStreamRecord]:
        """A log group's streams whose name starts with ``prefix``, by name."""

    @abc.abstractmethod
    def delete_log_stream(self, log_group_name: str, name: str) -> None:
        """Remove a log stream with its events (nothing when missing)."""

    @abc.abstractmethod
    def append_log_events(self, events: Sequence[LogEventRecord]) -> None:
        """Store log events, in one transaction, in the order given.

        A log group or stream that does not exist yet is created (at the event's
        ingestion time): execution logs are delivered to whatever group the logging
        configuration names. Each stream's first and last event timestamps, last
        ingestion time and stored bytes follow.
        """

    @abc.abstractmethod
    def log_events(self, query: LogQuery) -> list[LogEventRecord]:
        """The log events ``query`` asks for, in (timestamp, id) order or the reverse."""

    # leases: several servers on one database -------------------------------------------------

    @abc.abstractmethod
    def claim_executions(self, lease: Lease, limit: int = 100) -> list[str]:
        """Take executions that have waiting stimuli and that nobody holds (or whose
        lease expired), oldest stimulus first, on ``lease``'s terms. Returns their ARNs.
        What its owner holds already is not given again (``renew_held`` keeps it)."""

    @abc.abstractmethod
    def claim_named_executions(self, lease: Lease, arns: Sequence[str]) -> list[str]:
        """Take these executions, those of them that nobody holds (or whose lease
        expired), stimuli or not, on ``lease``'s terms; returns the ARNs taken. For a
        step that must happen now (StopExecution)."""

    @abc.abstractmethod
    def claim_tasks(self, lease: Lease, limit: int = 100) -> list[TaskRecord]:
        """Take ``invoke`` tasks to run: the scheduled ones and the dispatched ones whose
        lease expired (their server died), oldest first, now ``dispatched`` and held on
        ``lease``'s terms."""

    @abc.abstractmethod
    def release_execution(self, arn: str, owner: str) -> bool:
        """Give an execution's lease up (nothing when ``owner`` does not hold it);
        whether it did hold it."""

    @abc.abstractmethod
    def renew_held(
        self, lease: Lease, arns: Sequence[str] = (), tokens: Sequence[str] = ()
    ) -> None:
        """Move on the leases its owner holds of these executions and tasks only, to
        ``lease.expires``: what a server is working on now. A lease it holds and forgot
        (a release that failed) then runs out, and another server takes that work over,
        where renewing everything it holds would keep that work from everyone."""

    @abc.abstractmethod
    def release_executions(self, owner: str, arns: Sequence[str]) -> None:
        """Give up the leases ``owner`` holds on these executions (claimed, then not
        committed: nothing to do after all, or the commit failed)."""

    @abc.abstractmethod
    def release_task(self, token: str, owner: str) -> None:
        """Give up a task's lease: its work is done here (a callback's message was
        delivered) and nothing is left to take over if ``owner`` dies."""

    @abc.abstractmethod
    def release_leases(self, owner: str) -> int:
        """Give up every execution lease ``owner`` holds (a clean shutdown), so that
        other servers take them at once; returns how many."""

    @abc.abstractmethod
    def execution_lease(self, arn: str) -> tuple[str, float] | None:
        """Who holds an execution and until when, or None."""

    @abc.abstractmethod
    def complete_task(self, token: str, stimulus: dict[str, Any], now: float) -> int | None:
        """A task's result: the task marked ``done`` and ``stimulus`` queued for its
        execution, in one transaction. Returns the message id, or None (nothing
        changed) when the task was done already or does not exist."""

    def listen(
        self, on_note: Callable[[str], None], owner: str | None = None
    ) -> Callable[[], None] | None:
        """Hear of work that other servers on this store made: ``on_note("inbox")``
        when stimuli were queued, ``on_note("activity")`` when an activity task was
        scheduled, from a thread of the store's, after their transaction committed.
        ``owner`` is the lease owner of the loop that listens: it wakes itself for what
        it queues, so its writes need tell others only of stimuli for executions that
        another owner holds. Returns the function that stops listening, or None: this
        store sends no such notes (only PostgreSQL does), and other processes' work is
        found by polling."""
        return None

    def health(self) -> str | None:
        """None while the store is usable; otherwise why it is not (it found itself
        damaged), for a server's health check to report."""
        return None

    @property
    def healthy(self) -> bool:
        """Whether the store is usable (``health()`` is None)."""
        return self.health() is None

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store's resources."""
