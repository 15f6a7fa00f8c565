"""The worker: moves durable executions forward, one committed step at a time.

For each runnable execution (one with stimuli in its inbox) the worker loads the run
state, applies the stimuli through the interpreter, and commits the new run state with
the history events, timers and tasks that the step produced and the inbox messages it
consumed: all in one transaction, many executions per transaction. Only then does it
start the step's effects (invoking tasks). A crash between the commit and the effects
loses nothing: recovery re-dispatches the tasks that were committed as dispatched, and
a task may therefore run twice (at least once, as AWS documents for its tasks). A crash
before the commit leaves the inbox as it was, so the step simply runs again.

The child executions of a distributed Map run inside their parent's run state, so they
move only with their parent's steps: a step's commit also inserts the rows of the
children it started, their history events, and the ends of those that ended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stepfn.arns import ACTIVITY, region_and_account, resource_name, split
from stepfn.clock import Clock, IdSource
from stepfn.definition.model import JSONPATH
from stepfn.durable.effects import ending, plan
from stepfn.durable.map_redrive import with_children
from stepfn.durable.map_results import wants_children, with_stored_children
from stepfn.durable.models import ModelCache
from stepfn.durable.run_cache import Kept, RunStates
from stepfn.interp.commands import (
    InvokeTask,
    Redrive,
    Start,
    StartChildExecution,
    Stimulus,
    TaskFailed,
    TaskRestarted,
    TaskSucceeded,
    stimulus_from_dict,
    stimulus_to_dict,
)
from stepfn.interp.context import ExecutionInfo
from stepfn.interp.events import Event, TextMemo, to_json_text
from stepfn.interp.machine import Interpreter
from stepfn.interp.runstate import RunState, run_state_to_json
from stepfn.store.base import (
    ChildStep,
    ExecutionRecord,
    InboxMessage,
    Lease,
    LogEventRecord,
    NewStart,
    StepCommit,
    Store,
    StoredEvent,
    TaskRecord,
    TimerRecord,
)
from stepfn.tasks.base import Cancel, Registry, TaskOutcome, TaskRequest
from stepfn.tasks.credentials import loaded_payload, stored_payload

log = logging.getLogger("stepfn.durable.worker")

if TYPE_CHECKING:  # log_delivery reads to_stored from here
    from stepfn.logs.delivery import LogDelivery


def task_kind(resource: str, activity: bool) -> str:
    """How the engine runs a task: ``invoke`` through an adapter, ``activity`` handed to
    polling workers, or ``callback`` (``.waitForTaskToken``) completed by SendTask*."""
    if activity:
        return "activity"
    if resource.endswith(".waitForTaskToken"):
        return "callback"
    return "invoke"


def is_activity(resource: str) -> bool:
    """Whether a Task's resource is an activity ARN."""
    parts = split(resource)
    return len(parts) >= 7 and parts[2] == "states" and parts[5] == ACTIVITY


def to_stored(event: Event, texts: TextMemo | None = None) -> StoredEvent:
    """An interpreter event as the store keeps it (``texts``: see ``TextMemo``)."""
    return StoredEvent(
        event.id,
        event.previous_event_id,
        event.timestamp,
        event.type,
        event.rendered_details(texts),
    )


def execution_info_of(record: ExecutionRecord, input: Any = None) -> ExecutionInfo:
    """The context-object facts of a stored execution (``input``: its input, already
    parsed, to save parsing ``record.input`` again)."""
    region, account = region_and_account(record.state_machine_arn)
    return ExecutionInfo(
        execution_arn=record.arn,
        name=record.name,
        state_machine_arn=record.state_machine_arn,
        state_machine_name=resource_name(record.state_machine_arn),
        role_arn=record.role_arn,
        start_time=record.start_date,
        input=json.loads(record.input) if input is None else input,
        redrive_count=record.redrive_count,
        state_machine_type=record.type,
        region=region,
        account=account,
        version_arn=record.version_arn,
        alias_arn=record.alias_arn,
    )


@dataclass
class _Step:
    """What applying stimuli to a run state produced, as the store records it."""

    events: list[StoredEvent]
    timers: list[TimerRecord]
    cancelled: list[str]
    tasks: list[TaskRecord]
    finished_tokens: list[str]  # tasks the step ended whose rows it marks done
    # Tasks whose answer the step applied: an answer that came through the inbox had its
    # row marked done when it was queued (``Store.complete_task``, in the same
    # transaction), so the commit leaves it alone (one held in memory is marked by the
    # commit: see ``Worker.on_answered``); only a handle still running here is cancelled.
    answered: list[str]
    output: str | None
    stop_date: float | None
    children: list[ChildStep]


@dataclass
class _Prepared:
    commit: StepCommit
    invokes: list[TaskRecord]
    request_info: ExecutionInfo
    record: ExecutionRecord  # as read for the step: what its log events are filed under
    run: RunState | None = None  # the run state after the step (the commit's text, parsed)
    answered: list[str] = field(default_factory=list)  # see _Step.answered
    # The answers held in memory (``Worker._answers``) that the step applied: taken out
    # once its commit, which marks their tasks done, is in.
    answers: list[_Answer] = field(default_factory=list)


@dataclass(eq=False)
class _Answer:
    """A task's outcome held in memory until the step that applies it is committed."""

    token: str
    stimulus: dict[str, Any]
    created: float


# How long a step may run before it yields (its execution goes on in a later step, so
# that other executions, and the request that started it, are not held up).
STEP_BUDGET = 0.1  # seconds per batch of steps on the worker
START_BUDGET = 0.05  # seconds StartExecution spends running the first states


MAX_BUDGET_DOUBLINGS = 6  # a step that keeps yielding gets up to 64x the budget


def budget(seconds: float) -> Callable[[], bool]:
    """A check that says when ``seconds`` have passed (real time, whatever the clock:
    it bounds the work, not the execution's time)."""
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() > deadline


class Worker:
    """Steps executions and dispatches their tasks."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        registry: Registry,
        ids: IdSource,
        *,
        on_runnable: Callable[[str], None],
        models: ModelCache | None = None,
        logs: LogDelivery | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.registry = registry
        self.ids = ids
        self.models = models if models is not None else ModelCache()
        self.on_runnable = on_runnable
        self.run_states = RunStates()
        self._in_flight = 0
        # A C lock taken directly (a Condition's own with-statement is Python code, and
        # this lock is taken several times per task); the condition waits on it.
        self._in_flight_lock = threading.RLock()
        self._in_flight_changed = threading.Condition(self._in_flight_lock)
        # Tasks on their way, by token: a step that gives one up (its timeout fired, the
        # execution stopped) cancels it through the handle the adapter returned.
        self._running: dict[str, Cancel] = {}
        # Writes the committed events of executions that log them.
        self.logs = logs
        # Told the ARN of each execution whose step was just committed (the console's
        # change feed): after the commit, before its effects.
        self.on_commit: list[Callable[[str], None]] = []
        # Told the ARN and status of each execution whose committed step ended it, after
        # on_commit: those who wait for ends need no read of the running ones' steps.
        self.on_end: list[Callable[[str, str], None]] = []
        # Set by the engine with a mock file: answers the mocked tasks of test cases.
        self.mocks: Any = None
        # Set by the engine: told each committed status change (``testing.StatusEvents``).
        self.status_events: Any = None
        # (parent definition, item processor key) -> a child execution's definition.
        self._child_definitions: dict[tuple[str, str], str] = {}
        # Leased work (set by the loop on a shared store): the owner name this server
        # claims under, and how long a claim holds. Tasks are written with its lease.
        self.lease_owner: str | None = None
        self.lease_seconds = 15.0
        # Tokens of the tasks running here, and results the store refused (leased).
        self._here: set[str] = set()
        self._unwritten: dict[str, tuple[TaskRecord, dict[str, Any]]] = {}
        # Unleased, with a loop to tell (``on_answered``, set by the loop), a task's
        # outcome goes straight to the next step of its execution, in memory, instead of
        # through a transaction of its own into the inbox: the step's commit marks the
        # task done. Should this process die first, the task is still "dispatched" in
        # the store and recovery runs it again: at least once, as before, one commit
        # and two statements fewer per answer. Leased, answers go through the store, so
        # that any server may apply them.
        self.on_answered: Callable[[str], None] | None = None
        # Told (by the loop) after a commit that wrote timers: the scheduler looks again.
        # Told the earliest due time of the timers a batch of commits wrote.
        self.on_timers: Callable[[float], None] = lambda due: None
        self._answers: dict[str, list[_Answer]] = {}

    # --- stepping -------------------------------------------------------------------------------

    def process(self, arns: Sequence[str]) -> int:
        """Apply the waiting stimuli of these executions now; returns transitions
        committed. Leased, only those that no other server holds are stepped here (the
        others' holders apply the stimuli, soon after)."""
        owner = self.lease_owner
        if owner is None:
            return self.step(arns)[0]
        lease = Lease(owner, time.time(), self.lease_seconds)
        claimed = self.store.claim_named_executions(lease, arns)
        if not claimed:
            return 0
        committed: set[str] = set()
        try:
            transitions, committed = self.step(claimed)
        finally:
            self.store.release_executions(owner, [a for a in claimed if a not in committed])
        return transitions

    def step(self, arns: Sequence[str], unread: Collection[str] = ()) -> tuple[int, set[str]]:
        """Apply the waiting stimuli of these executions: the transitions committed, and
        the ARNs whose step was committed. Under a lease (``lease_owner``) each commit
        is refused unless this server still holds its execution, and gives it up.
        ``unread``: executions that were woken only by answers held in memory (see
        ``on_answered``), whose inbox in the store need not be read."""
        prepared = [p for p in self._prepare_all(arns, unread) if p]
        if not prepared:
            return 0, set()
        for item in prepared:
            item.commit.lease_owner = self.lease_owner
        held = self._hold([task for item in prepared for task in item.commit.new_tasks])
        try:
            refused = set(self.store.commit_steps([p.commit for p in prepared]))
        except BaseException:
            self._unhold(held)
            raise
        self._unhold(
            [t for p in prepared if p.commit.execution_arn in refused for t in p.commit.new_tasks]
        )
        transitions = 0
        committed: set[str] = set()
        logged: list[LogEventRecord] = []
        earliest: float | None = None
        for item in prepared:
            if item.commit.execution_arn in refused:
                # Another writer moved this execution on (or, leased, another server
                # took it over): the step is dropped; read it again next round.
                self.on_runnable(item.commit.execution_arn)
                continue
            committed.add(item.commit.execution_arn)
            earliest = _earliest(earliest, item.commit.new_timers)
            if item.answers:
                self._applied(item.commit.execution_arn, item.answers)
            self._keep(item)
            transitions += sum(1 for e in item.commit.events if e.type.endswith("StateEntered"))
            self._committed(item)
            if self.logs is not None:
                logged += self.logs.committed(item.record, item.commit.events)
            self._start_effects(item)
        if earliest is not None:
            self.on_timers(earliest)
        if logged and self.logs is not None:
            # After the tasks are on their way: logging never holds an execution up.
            self.logs.write(logged)
        return transitions, committed

    def start(self, record: ExecutionRecord, input: Any = None) -> None:
        """Store a new execution, already run as far as it goes without waiting: its
        row, history, timers and tasks commit in one transaction (``Conflict`` when its
        ARN exists), then its tasks are dispatched.

        StartExecution runs the first states itself: for most executions that is all
        there is until a task answers or a timer fires, and stepping them here saves a
        second transaction and a round through the inbox. The first step is made as
        every later one is (``_stepped``: a ``StepCommit`` and the tasks to dispatch);
        only its commit differs, as it inserts the execution's row. ``input``: the
        parsed ``record.input``, when the caller has it."""
        (error,) = self.start_all([(record, input)])
        if error is not None:
            raise error

    def start_all(
        self, starts: Sequence[tuple[ExecutionRecord, Any]]
    ) -> list[BaseException | None]:
        """Store many new executions as ``start`` stores one, their rows in one group
        commit (``Store.create_executions``): each one's error (``Conflict`` when its
        ARN exists), or None once it is stored and its tasks dispatched."""
        errors: list[BaseException | None] = [None] * len(starts)
        items: list[tuple[int, _Prepared]] = []
        for index, (record, input) in enumerate(starts):
            try:
                items.append((index, self._first_step(record, input)))
            except Exception as exc:
                errors[index] = exc
        if not items:
            return errors
        held = [self._hold(item.commit.new_tasks) for _, item in items]
        if not any(item.invokes for _, item in items):
            return self._store_starts(items, held, errors)
        # From the commit that writes their timers until their tasks are dispatched, the
        # starts count as work in flight: an idle scheduler with a scaled clock would
        # otherwise jump to a timeout timer of a task not yet running (no stepper holds
        # a new execution, as one holds those it steps). Starts with no task to
        # dispatch leave nothing such behind.
        self._count_in_flight(1)
        try:
            return self._store_starts(items, held, errors)
        finally:
            self._count_in_flight(-1)

    def _count_in_flight(self, change: int) -> None:
        with self._in_flight_lock:
            self._in_flight += change
            if self._in_flight == 0:
                self._in_flight_changed.notify_all()

    def _store_starts(
        self,
        items: list[tuple[int, _Prepared]],
        held: list[list[TaskRecord]],
        errors: list[BaseException | None],
    ) -> list[BaseException | None]:
        """``start_all``'s commit of the prepared ``items`` and their effects."""
        try:
            stored = self.store.create_executions(
                [
                    NewStart(
                        item.record,
                        item.commit.events,
                        item.commit.new_timers,
                        tasks=item.commit.new_tasks,
                        children=item.commit.children,
                    )
                    for _, item in items
                ]
            )
        except BaseException:
            for tokens in held:
                self._unhold(tokens)
            raise
        earliest: float | None = None
        for (index, item), tokens, error in zip(items, held, stored, strict=True):
            if error is not None:
                self._unhold(tokens)
                errors[index] = error
                continue
            earliest = _earliest(earliest, item.commit.new_timers)
            self._keep(item, started=True)
            self._committed(item, started=True)
            if self.logs is not None:
                # Before its tasks can answer: the start's log events come first.
                self.logs.write(self.logs.committed(item.record, item.commit.events))
            self._start_effects(item)
        if earliest is not None:
            self.on_timers(earliest)
        return errors

    def _first_step(self, record: ExecutionRecord, input: Any) -> _Prepared:
        """A new execution's first step, not yet committed; ``record`` takes the state
        it leaves the execution in."""
        info = execution_info_of(record, input)
        compiled = self.models.compiled(record.definition)
        interpreter = Interpreter(compiled.machine, info, self.ids, compiled=compiled)
        interpreter.yield_check = budget(START_BUDGET)
        texts = TextMemo()
        texts.remember(info.input, record.input)  # ExecutionStarted's input, as stored
        stimuli = [(Start(), record.start_date)]
        item = self._stepped(record, info, interpreter, RunState(), stimuli, [], texts)
        commit = item.commit
        record.run_state, record.next_event_id = commit.run_state, commit.next_event_id
        record.status, record.output = commit.status, commit.output
        record.error, record.cause, record.stop_date = commit.error, commit.cause, commit.stop_date
        return item

    def _keep(self, item: _Prepared, started: bool = False) -> None:
        """After its commit: keep the run state of an execution that goes on, for its
        next step (see ``run_cache.py``); unleased, with its row as the commit left it.
        ``started``: the commit inserted the row, and ``item.record`` is that row
        already (``_first_step`` made it so)."""
        commit = item.commit
        if item.run is None or commit.status != "RUNNING":
            return
        record = None
        if started and self.lease_owner is None:
            record = item.record
        elif self.lease_owner is None:
            # A copy: ``item.record`` stays the row as it was before the step (what
            # its status events and log events are told).
            record = item.record.copy()
            record.run_state, record.next_event_id = commit.run_state, commit.next_event_id
            record.status = commit.status
        self.run_states.keep(
            commit.execution_arn, commit.run_state, item.run, record, item.request_info
        )

    def _committed(self, item: _Prepared, started: bool = False) -> None:
        """Tell those who watch that ``item``'s step is committed (``started``: it was
        the first step of a new execution)."""
        arn, status = item.commit.execution_arn, item.commit.status
        for notify in self.on_commit:
            notify(arn)
        if status != "RUNNING":
            for ended in self.on_end:
                ended(arn, status)
        if self.status_events is None:
            return
        if started:
            self._status_started(item.record)
        elif item.commit.status != item.record.status:
            self._status_changed(item.record, item.commit)

    def _start_effects(self, item: _Prepared) -> None:
        """After the commit: cancel the tasks the step gave up, dispatch its new ones."""
        if item.answered or item.commit.finished_task_tokens:
            self._cancel_finished([*item.answered, *item.commit.finished_task_tokens])
        for task in item.invokes:
            self.dispatch(task, item.request_info)

    def _status_started(self, record: ExecutionRecord) -> None:
        """Status events of a new execution: RUNNING, then its end if it ended at once."""
        now = self.clock.now()
        running = record.as_running()
        self.status_events.changed(running, record.start_date)
        if record.status != "RUNNING":
            self.status_events.changed(record, now)

    def _status_changed(self, record: ExecutionRecord, commit: StepCommit) -> None:
        changed = dataclasses.replace(
            record,
            status=commit.status,
            output=commit.output,
            error=commit.error,
            cause=commit.cause,
            stop_date=commit.stop_date,
        )
        self.status_events.changed(changed, commit.stop_date or self.clock.now())

    def _prepare_all(self, arns: Sequence[str], unread: Collection[str]) -> list[_Prepared | None]:
        """The steps of these executions (None for each with nothing to do), their rows
        and inboxes read for the whole batch at once (``Store.step_reads``: one query
        on PostgreSQL, where two reads for each execution were a third of the
        statements a server sent)."""
        wanted: list[tuple[str, bool, list[_Answer], Kept | None]] = []
        for arn in dict.fromkeys(arns):
            read_inbox = arn not in unread
            with self._in_flight_lock:
                answers = list(self._answers.get(arn, ()))
            if not (read_inbox or answers):
                continue  # woken for answers that an earlier step applied already
            wanted.append((arn, read_inbox, answers, self.run_states.take_kept(arn)))
        # Unleased, the row as this worker's last commit left it, when kept: no read of
        # it (its inbox is read alone). Leased, every row is read: another server may
        # have moved the execution on since.
        unleased = self.lease_owner is None
        from_kept = {
            arn for arn, _, _, kept in wanted
            if unleased and kept is not None and kept.record is not None
        }  # fmt: skip
        to_read = [arn for arn, _, _, _ in wanted if arn not in from_kept]
        no_inbox = {arn for arn, read_inbox, _, _ in wanted if not read_inbox}
        reads = self.store.step_reads(to_read, no_inbox) if to_read else {}
        prepared: list[_Prepared | None] = []
        for arn, read_inbox, answers, kept in wanted:
            if arn in from_kept and kept is not None:
                messages = self.store.inbox(arn) if read_inbox else []
                prepared.append(self._prepare(arn, answers, kept, kept.record, kept.info, messages))
            else:
                record, messages = reads.get(arn, (None, []))
                prepared.append(self._prepare(arn, answers, kept, record, None, messages))
        return prepared

    def _prepare(
        self,
        arn: str,
        answers: list[_Answer],
        kept: Kept | None,
        record: ExecutionRecord | None,
        info: ExecutionInfo | None,
        messages: list[InboxMessage],
    ) -> _Prepared | None:
        """The step of one execution from what was read of it: ``record`` its row
        (``kept``'s when stepped from the kept row), ``messages`` its inbox, ``answers``
        the answers held for it in memory. None when there is nothing to do."""
        if record is None:
            if answers:
                self._applied(arn, answers)  # nothing to apply them to
            return None
        if not (messages or answers):
            if kept is not None:  # nothing to do: kept for the next step as it was
                self.run_states.keep(arn, kept.text, kept.run, kept.record, kept.info)
            return None
        consumed = [m.id for m in messages]
        # The tasks answered in memory are marked done by this step's commit.
        answered = [answer.token for answer in answers]
        if record.status != "RUNNING" or record.run_state is None:
            # Late answers for a finished execution: consume them, change nothing else.
            return _Prepared(
                StepCommit(
                    execution_arn=arn,
                    expected_next_event_id=record.next_event_id,
                    next_event_id=record.next_event_id,
                    run_state=record.run_state or "null",
                    status=record.status,
                    consumed_inbox_ids=consumed,
                    finished_task_tokens=answered,
                    output=record.output,
                    error=record.error,
                    cause=record.cause,
                    stop_date=record.stop_date,
                ),
                [],
                execution_info_of(record),
                record,
                answers=answers,
            )
        info = info or execution_info_of(record)
        compiled = self.models.compiled(record.definition)
        interpreter = Interpreter(compiled.machine, info, self.ids, compiled=compiled)
        run = self.run_states.parsed(kept, record.run_state)
        # Each yield of a long step costs a read and a write of its whole run state: the
        # budget doubles with each yield in a row, so that cost stays a small share.
        interpreter.yield_check = budget(STEP_BUDGET * 2 ** min(run.yields, MAX_BUDGET_DOUBLINGS))
        now = self.clock.now()
        # Each stimulus is applied at the time it happened (a timer at its due time), in
        # that order: a timeout due before a slow task's answer wins, as on AWS.
        # Answers held in memory come after the stored stimuli of the same time (they
        # would have been queued last).
        timed = [(m.created or now, 0, m.id, m.stimulus) for m in messages]
        timed += [(a.created, 1, n, a.stimulus) for n, a in enumerate(answers)]
        timed.sort(key=lambda t: t[:3])
        stimuli = [(self._complete(stimulus_from_dict(t[3])), t[0]) for t in timed]
        item = self._stepped(record, info, interpreter, run, stimuli, consumed)
        if kept is not None and record is kept.record:
            # Stepped from the kept row: committed only if the store still holds it.
            item.commit.expected_run_state = kept.text
        if answers:
            item.commit.finished_task_tokens += answered
            item.answers = answers
        return item

    def _applied(self, arn: str, answers: list[_Answer]) -> None:
        """Forget the answers held for ``arn`` that a committed step applied."""
        done = {id(answer) for answer in answers}
        with self._in_flight_lock:
            left = [a for a in self._answers.get(arn, ()) if id(a) not in done]
            if left:
                self._answers[arn] = left
            else:
                self._answers.pop(arn, None)

    def answered_executions(self) -> list[str]:
        """The executions with answers held in memory that no step has applied yet (a
        step that failed leaves them there: the loop's poll wakes them again)."""
        with self._in_flight_lock:
            return list(self._answers)

    def _stepped(
        self,
        record: ExecutionRecord,
        info: ExecutionInfo,
        interpreter: Interpreter,
        run: RunState,
        stimuli: Sequence[tuple[Stimulus, float]],
        consumed: list[int],
        texts: TextMemo | None = None,
    ) -> _Prepared:
        """Apply ``stimuli`` to ``run``, the run state of ``record``: the step's commit
        and the tasks to dispatch after it, the first step of an execution as the rest."""
        step = self._advance(interpreter, run, stimuli, record, texts)
        commit = StepCommit(
            execution_arn=record.arn,
            expected_next_event_id=record.next_event_id,
            next_event_id=run.next_event_id,
            run_state=run_state_to_json(run),
            status=run.status,
            events=step.events,
            consumed_inbox_ids=consumed,
            new_timers=step.timers,
            cancelled_timer_ids=step.cancelled,
            new_tasks=step.tasks,
            finished_task_tokens=step.finished_tokens,
            output=step.output,
            error=run.error,
            cause=run.cause,
            stop_date=step.stop_date,
            children=step.children,
        )
        invokes = [t for t in step.tasks if t.kind in ("invoke", "callback")]
        return _Prepared(commit, invokes, info, record, run, step.answered)

    def _complete(self, stimulus: Stimulus) -> Stimulus:
        """A stimulus with what the inbox leaves out of it read from the store: the
        children of a redriven map run (see ``map_redrive.py``)."""
        if isinstance(stimulus, Redrive):
            return with_children(self.store, stimulus)
        return stimulus

    def _advance(
        self,
        interpreter: Interpreter,
        run: RunState,
        stimuli: Sequence[tuple[Stimulus, float]],
        record: ExecutionRecord,
        texts: TextMemo | None = None,
    ) -> _Step:
        """Apply stimuli (each at its time) to ``run``, the run state of ``record``;
        what the store must record."""
        arn = record.arn
        events: list[Event] = []
        child_events: list[Event] = []
        commands: list[Any] = []
        now = self.clock.now()
        finished_tokens: list[str] = []
        answered: list[str] = []
        for stimulus, at in stimuli:
            if isinstance(stimulus, (TaskSucceeded, TaskFailed)):
                answered.append(stimulus.token)
            result = interpreter.step(run, stimulus, at)
            events.extend(result.events)
            commands.extend(result.commands)
            child_events.extend(result.child_events)
        effects = plan(commands)
        timers = [TimerRecord(arn, timer.timer_id, timer.due) for timer in effects.timers]
        cancelled = effects.cancelled_timers
        tasks = [self._task_record(arn, command, now) for command in effects.tasks]
        finished_tokens.extend(effects.cancelled_tasks)
        started = effects.children
        texts = texts if texts is not None else TextMemo()
        children = (
            self._children(interpreter, record, started, child_events, texts)
            if child_events
            else []
        )
        return _Step(
            events=[to_stored(e, texts) for e in events],
            timers=timers,
            cancelled=cancelled,
            tasks=tasks,
            finished_tokens=finished_tokens,
            answered=answered,
            output=to_json_text(run.output) if run.status == "SUCCEEDED" else None,
            stop_date=now if run.status != "RUNNING" else None,
            children=children,
        )

    def _runs_here(self, kind: str, command: InvokeTask) -> bool:
        """Whether a task is run by this server (and leased to it): invoke tasks, and
        callbacks with an adapter that sends their message. Activities are polled and
        bare callbacks wait for SendTask*: nothing to take over."""
        if kind == "invoke":
            return True
        return kind == "callback" and self.registry.find(command.resource) is not None

    def _task_record(self, arn: str, command: InvokeTask, now: float) -> TaskRecord:
        """The row of a task a step invokes: how it runs (``task_kind``) and its state."""
        activity = is_activity(command.resource)
        kind = task_kind(command.resource, activity)
        if self.mocks is not None and self.mocks.covers(arn, command.state_name):
            # A mocked activity or callback is answered like a call: its mocked
            # response is the task's result, no worker or SendTask* involved.
            activity, kind = False, "invoke"
        return TaskRecord(
            token=command.token,
            execution_arn=arn,
            resource=command.resource,
            # An activity's input is its payload alone (GetActivityTask hands it out);
            # any other task's row keeps the role its Credentials name with it.
            payload=stored_payload(command.payload, None if activity else command.role_arn),
            state_name=command.state_name,
            kind=kind,
            status="scheduled" if kind == "activity" else "dispatched",
            created=now,
            activity_arn=command.resource if activity else None,
            timeout_seconds=command.timeout_seconds,
            heartbeat_seconds=command.heartbeat_seconds,
            attempt=command.attempt,
            # Leased: held by this server from the commit that writes it (its expiry is
            # set then: see _hold); another runs it again only once that lease ran out.
            lease_owner=self.lease_owner if self._runs_here(kind, command) else None,
        )

    def _children(
        self,
        interpreter: Interpreter,
        parent: ExecutionRecord,
        started: dict[str, StartChildExecution],
        events: list[Event],
        texts: TextMemo,
    ) -> list[ChildStep]:
        """What the store must record of the child executions a step started, moved on
        or ended: their rows (new ones whole, ended ones' results) and their events."""
        steps: dict[str, ChildStep] = {}
        for event in events:
            child = steps.get(event.execution)
            if child is None:
                child = steps[event.execution] = ChildStep(event.execution)
            stored = to_stored(event, texts)
            child.events.append(stored)
            if event.type == "ExecutionRedriven":
                # Its map run was redriven: the row runs again, its last result cleared.
                child.status = "RUNNING"
                child.output = child.error = child.cause = child.stop_date = None
                child.redrive_count = int((event.details or {}).get("redriveCount", 1))
                child.redrive_date = event.timestamp
            end = ending(event, stored.details)
            if end is not None:
                child.status, child.stop_date = end.status, end.stopped
                child.output, child.error, child.cause = end.output, end.error, end.cause
        for child in steps.values():
            child.next_event_id = child.events[-1].id + 1
            command = started.get(child.arn)
            if command is None:
                continue
            first = child.events[0]  # its ExecutionStarted, with the input as text
            child.new = ExecutionRecord(
                arn=child.arn,
                state_machine_arn=command.state_machine_arn,
                name=command.name,
                type="STANDARD",
                status=child.status,
                input=(first.details or {}).get("input", "{}"),
                start_date=first.timestamp,
                definition=self._child_definition(interpreter, parent, command.machine_key),
                role_arn=parent.role_arn,
                output=child.output,
                error=child.error,
                cause=child.cause,
                stop_date=child.stop_date,
                next_event_id=child.next_event_id,
                map_run_arn=command.map_run_arn,
                state_machine_revision_id=parent.state_machine_revision_id,
                item_count=command.item_count,
                map_run_event_id=command.map_run_event_id,
                item_index=command.index,
            )
        return list(steps.values())

    def _child_definition(
        self, interpreter: Interpreter, parent: ExecutionRecord, machine_key: str
    ) -> str:
        """The definition a child execution runs: its Map's item processor, as a state
        machine of its own (with the query language it inherits)."""
        key = (parent.definition, machine_key)
        text = self._child_definitions.get(key)
        if text is None:
            processor = interpreter.machines[machine_key]
            raw = dict(processor.raw)
            raw.pop("ProcessorConfig", None)
            if processor.query_language != JSONPATH:
                raw.setdefault("QueryLanguage", processor.query_language)
            text = json.dumps(raw, separators=(",", ":"), ensure_ascii=False)
            if len(self._child_definitions) >= 256:
                self._child_definitions.clear()
            self._child_definitions[key] = text
        return text

    # --- tasks ------------------------------------------------------------------------------------

    def dispatch(self, task: TaskRecord, info: ExecutionInfo) -> None:
        """Start a task through its adapter; its outcome goes to the execution's inbox.

        Nothing waits here: an asynchronous adapter reports through ``done`` when it ends,
        a blocking one runs on the registry's bounded pool.
        """
        if task.kind == "callback" and self.registry.find(task.resource) is None:
            # Nothing here delivers the message; the token still works for
            # SendTaskSuccess/Failure from outside, which is what completes it.
            return
        with self._in_flight_lock:
            self._in_flight += 1
            self._here.add(task.token)
        # Taken by the first end reported: a lock's non-blocking acquire is a test and
        # set, and it costs less to make than an Event (a Condition and two locks).
        reported = threading.Lock()
        counted = [True]  # whether the task still counts as in flight

        def uncount() -> None:  # under _in_flight_lock
            if counted[0]:
                counted[0] = False
                self._in_flight -= 1
                self._in_flight_changed.notify_all()

        def done(outcome: TaskOutcome) -> None:
            if reported.locked():
                return  # an adapter that answers twice: the first answer stands
            if outcome.pending:
                self._submitted(task, outcome)  # the task goes on: not its end
                with self._in_flight_lock:
                    # It now waits on something the engine moves (a nested execution),
                    # as a callback does: an idle engine must go on stepping for it.
                    uncount()
                return
            if not reported.acquire(blocking=False):
                return  # another thread's answer came first
            try:
                self._answer(task, outcome)
            finally:
                with self._in_flight_lock:
                    self._running.pop(task.token, None)
                    self._here.discard(task.token)
                    uncount()

        try:
            payload, role_arn = loaded_payload(task.payload)
            if wants_children(task.resource, payload):  # a ResultWriter's write
                payload = with_stored_children(self.store, payload)
            request = TaskRequest(
                token=task.token,
                resource=task.resource,
                payload=payload,
                state_name=task.state_name,
                execution=info,
                timeout_seconds=task.timeout_seconds,
                heartbeat_seconds=task.heartbeat_seconds,
                attempt=task.attempt,
                role_arn=role_arn,
            )
            handle = self.registry.start(request, done)
            with self._in_flight_lock:
                if not reported.locked():
                    self._running[task.token] = handle
        except Exception as exc:  # an adapter's own bug fails the task, not the worker
            done(TaskOutcome.failure("States.TaskFailed", f"{type(exc).__name__}: {exc}"))

    def _cancel_finished(self, tokens: Sequence[str]) -> None:
        """Cancel the tasks still running whose tokens a committed step finished."""
        if not tokens:
            return
        with self._in_flight_lock:
            handles = [self._running.pop(t) for t in tokens if t in self._running]
        for handle in handles:
            try:
                handle.cancel()
            except Exception:  # a cancel is best effort: the step is committed already
                log.exception("cancelling a task failed")

    # --- TaskSubmitted (nested executions, callbacks) ------------------------------------

    def _submitted(self, task: TaskRecord, outcome: TaskOutcome) -> None:
        """A task was handed over and goes on: TaskSubmitted, through the inbox. The
        task stays dispatched: its end (or SendTask*) comes later."""
        stimulus = {"type": "TaskSubmitted", "token": task.token, "output": outcome.output}
        try:
            self.store.add_inbox(task.execution_arn, stimulus, self.clock.now())
        except Exception:  # the store is closing: the end still comes through the inbox
            return
        self.on_runnable(task.execution_arn)

    def _answer(self, task: TaskRecord, outcome: TaskOutcome) -> None:
        """Put a task's outcome in its execution's inbox and mark the task done."""
        if task.kind == "callback" and outcome.succeeded:
            # The call was made (the message sent): the task waits for SendTask*, and
            # there is nothing left to take over should this server die.
            if self.lease_owner is not None:
                # On failure its lease runs out: the message is sent again, at least once.
                with contextlib.suppress(Exception):
                    self.store.release_task(task.token, self.lease_owner)
            self._submitted(task, outcome)
            return
        if outcome.succeeded:
            stimulus = {"type": "TaskSucceeded", "token": task.token, "output": outcome.output}
        else:
            stimulus = {
                "type": "TaskFailed",
                "token": task.token,
                "error": outcome.error,
                "cause": outcome.cause,
            }
        on_answered = self.on_answered
        if on_answered is not None and self.lease_owner is None:
            answer = _Answer(task.token, stimulus, self.clock.now())
            with self._in_flight_lock:
                self._answers.setdefault(task.execution_arn, []).append(answer)
            on_answered(task.execution_arn)
            return
        try:
            # The result and the task's mark in one transaction: None when the task was
            # answered already (a timeout, or another server's run after a crash).
            if self.store.complete_task(task.token, stimulus, self.clock.now()) is None:
                return
        except Exception:
            # The store is closing or failing. Leased, the result is kept and written
            # again by the lease keeper (``write_answers``) while the task's lease is
            # renewed; unleased (or should this server die), recovery runs it again.
            if self.lease_owner is not None:
                with self._in_flight_lock:
                    self._unwritten[task.token] = (task, stimulus)
            return
        self.on_runnable(task.execution_arn)

    def _hold(self, tasks: Sequence[TaskRecord]) -> list[TaskRecord]:
        """Leased: just before the commit that writes them, the leases of the tasks this
        server will run start now (not when the step began: a slow commit must not
        hand them over already expired), and they count as running here, so that a
        take-over of this server's own never runs one twice. Returns those tasks."""
        mine = [t for t in tasks if t.lease_owner is not None]
        if mine:
            expires = time.time() + self.lease_seconds
            with self._in_flight_lock:
                for task in mine:
                    task.lease_expires = expires
                    self._here.add(task.token)
        return mine

    def _unhold(self, tasks: Sequence[TaskRecord]) -> None:
        """Tasks whose commit failed or was refused: not running here after all."""
        if tasks:
            with self._in_flight_lock:
                self._here.difference_update(t.token for t in tasks)

    def held_tokens(self) -> list[str]:
        """The tasks whose lease this server must keep: running here, or with a result
        the store has not taken yet."""
        with self._in_flight_lock:
            return [*self._here, *self._unwritten]

    def write_answers(self) -> int:
        """Leased: write the task results that the store refused before; how many."""
        with self._in_flight_lock:
            waiting = list(self._unwritten.items())
        written = 0
        for token, (task, stimulus) in waiting:
            try:
                message = self.store.complete_task(token, stimulus, self.clock.now())
            except Exception:
                return written  # still failing: at the next turn
            with self._in_flight_lock:
                self._unwritten.pop(token, None)
            if message is not None:
                written += 1
                self.on_runnable(task.execution_arn)
        return written

    def in_flight(self) -> int:
        """Tasks running now, and starts of executions whose tasks are not yet on their
        way (``start_all``)."""
        with self._in_flight_lock:
            return self._in_flight

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no task runs (or the timeout passes); True when idle."""
        with self._in_flight_lock:
            return self._in_flight_changed.wait_for(lambda: self._in_flight == 0, timeout)

    def recover(self) -> int:
        """After a restart: run again every invoke task that was dispatched but whose
        result never reached the inbox. Returns how many."""
        count = 0
        for task in self.store.tasks_with_status("dispatched"):
            if task.kind in ("invoke", "callback") and self._run_again(task):
                count += 1
        return count

    def take_over(self, now: float) -> int:
        """Leased: claim the tasks whose server died (their lease ran out before their
        result came) and run them again here (at least once, as AWS runs tasks).
        Returns how many."""
        if self.lease_owner is None:
            return 0
        count = 0
        for task in self.store.claim_tasks(Lease(self.lease_owner, now, self.lease_seconds)):
            with self._in_flight_lock:
                # Its lease lapsed (renewed late) but it runs here still, or its result
                # waits to be written: it is held again, and not run twice.
                if task.token in self._here or task.token in self._unwritten:
                    continue
            if self._run_again(task):
                count += 1
        return count

    def _run_again(self, task: TaskRecord) -> bool:
        """Dispatch ``task`` again if its execution still runs (True); else mark it done,
        as nothing waits for its result."""
        record = self.store.get_execution(task.execution_arn)
        if record is None or record.status != "RUNNING":
            self.store.mark_task(task.token, "done")
            return False
        if task.timeout_seconds or task.heartbeat_seconds:
            # Its time counts from this run: the server's time away is not the task's.
            # Stamped with the task's first start, to come before its timers' firings.
            restarted = TaskRestarted(
                task.token, self.clock.now(), task.timeout_seconds, task.heartbeat_seconds
            )
            self.store.add_inbox(task.execution_arn, stimulus_to_dict(restarted), task.created)
            self.on_runnable(task.execution_arn)
        self.dispatch(task, execution_info_of(record))
        return True

    def close(self) -> None:
        """Stop the task adapters (running tasks finish)."""
        self.registry.close()


def _earliest(due: float | None, timers: Sequence[TimerRecord]) -> float | None:
    """The earlier of ``due`` and the due times of ``timers`` (None: none at all)."""
    for timer in timers:
        if due is None or timer.due < due:
            due = timer.due
    return due
