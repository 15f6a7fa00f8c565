"""The engine's loop: which executions step when, the scheduler of timers, recovery.

Executions with stimuli waiting are *ready*. Several stepper threads take ready
executions in batches and step them through the worker; one scheduler thread fires due
timers and picks up stimuli other processes wrote. The two are apart so that a long step
(a heavy state, a big Map) never delays a timer, and steppers are several so that one
long step never holds the others: each step also has a budget (``worker.STEP_BUDGET``)
after which its execution yields and waits its turn again.

An execution is stepped by one thread at a time: one woken while it is being stepped is
ready again once that step ends.

With a virtual clock there are no threads: ``run_until_idle`` drives everything in the
caller's thread, moving the clock from timer to timer.

**Leases.** On a store that several servers write at once (PostgreSQL: ``Store.shared``)
the loop works by leases, under an owner name of its own (one per process). What is
ready here is only a hint: a stepper *claims* runnable executions from the store
(``claim_executions``: those with stimuli that nobody holds, or whose holder's lease
ran out), steps them, and each commit checks the lease and gives it up in the same
statement, so a server that lost its lease (stalled past it, or presumed dead) has its
step refused and dropped: no transition is committed twice. The tasks a step dispatches
are written with this server's lease. The scheduler renews every lease this server
holds while it lives, takes over the tasks whose lease ran out (their server died: run
again, at least once) and looks for executions that other servers made runnable. Timers
need no lease: each is taken by one ``DELETE ... RETURNING``. Recovery is those claims:
nothing is re-dispatched at start, so a second server starting leaves the first one's
tasks in flight alone. On SQLite (one writer) none of this runs: the in-memory ready set
is the truth, guarded by each commit's ``next_event_id``.

**Wake-ups between servers.** Another server's work is heard of from the store where it
can say (``Store.listen``: PostgreSQL's LISTEN/NOTIFY): stimuli queued there let the
steppers claim at once, an activity task scheduled there wakes the GetActivityTask long
polls here (``on_tasks``). A note that comes while this server holds executions (a step
in progress) makes the stepper claim again once that step is committed and its lease
given up: the note may have been for one of them. The scheduler's poll stays, as the
fallback for notes lost with a connection.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from stepfn.clock import Clock, ScaledClock
from stepfn.durable.worker import Worker
from stepfn.store.base import Lease, Store, TimerRound

log = logging.getLogger("stepfn.durable.loop")

BATCH = 128  # executions stepped per transaction
POLL_SECONDS = 0.25  # how often an idle scheduler looks for other processes' stimuli
TICK_SECONDS = 0.2  # the longest a scheduler sleeps without looking at the timers
LEASE_SECONDS = 15.0  # how long a claim holds without renewal: a dead server's work
# waits that long before another server takes it over
TAKEOVER_SECONDS = 1.0  # how often a leased loop looks for tasks whose lease ran out


def owner_name() -> str:
    """A name for this server process in leases: host, pid and a random part (a pid
    comes back after a restart; the random part does not)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


# Unleased (one process writes the store), how many steppers step at once: two, so
# that one prepares its batch while the other commits. The others wait meanwhile, and
# what becomes ready gathers into the next batch, which one commit writes, rather than
# each stepper taking one execution and committing it alone. A stepper joins anyway
# once a step has taken LONG_STEP_SECONDS: a long step does not hold up the rest.
ACTIVE_STEPPERS = 2
LONG_STEP_SECONDS = 0.02


def stepper_count() -> int:
    """Stepper threads: two per core, at least four, so that a few long steps (a heavy
    JSONata evaluation cannot yield halfway) leave steppers for everyone else."""
    return max(4, 2 * (os.cpu_count() or 1))


class Loop:
    """Steps ready executions and fires timers, in threads or in the caller's."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        worker: Worker,
        *,
        on_stepped: Callable[[], None] = lambda: None,
        leases: bool | None = None,
        lease_seconds: float = LEASE_SECONDS,
        on_tasks: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.worker = worker
        self.on_stepped = on_stepped
        # Activity tasks may have been scheduled by another server: the long polls look
        # (by default what a step here calls, which is for the same reason).
        self.on_tasks = on_stepped if on_tasks is None else on_tasks
        # Leased work (see the module's docstring): by default on a shared store.
        self.leased = store.shared if leases is None else leases
        self.owner = owner_name() if self.leased else None
        self.lease_seconds = lease_seconds
        worker.lease_owner = self.owner
        worker.lease_seconds = lease_seconds
        if not self.leased:
            # Tasks' answers come straight to the steppers (see Worker.on_answered).
            worker.on_answered = self.wake_answered
        worker.on_timers = self._timers_set
        self._claim_more = self.leased  # claim without a hint (at start, after a full claim)
        self._ready: OrderedDict[str, None] = OrderedDict()
        self._stepping: set[str] = set()
        self._again: set[str] = set()  # woken while being stepped
        # Woken for stimuli in the store's inbox since their last step began: the others
        # in _ready were woken only by answers the worker holds in memory, and their
        # step need not read the inbox.
        self._inbox: set[str] = set()
        # Taken directly, a C lock (a Condition's with-statement is Python code); the
        # steppers wait on ``_signal`` for ready executions.
        ready_lock = self._ready_lock = threading.RLock()
        self._signal = threading.Condition(ready_lock)
        self._tick = threading.Condition()  # the scheduler waits on it for new timers
        # Until when the scheduler waits (the engine's clock; inf while it is awake), and
        # whether timers were set since it last read them (see ``_timers_set``).
        self._sleeping_until = math.inf
        self._timers_new = False
        self._keeper = threading.Condition()  # the lease keeper sleeps on it
        self._notes = 0  # another server's stimuli heard of (see _on_note)
        self._poll_now = False  # unleased: the scheduler polls the inbox at once
        self._unlisten: Callable[[], None] | None = None
        self._stopping = False
        # Unleased: when each stepper stepping now began (see ACTIVE_STEPPERS). Leased,
        # every stepper steps: each waits on its own round trips to the database.
        self._active: dict[int, float] = {}
        self._active_limit = None if self.leased else ACTIVE_STEPPERS
        self._turn = threading.Condition(ready_lock)  # denied steppers wait on it
        self._threads: list[threading.Thread] = []

    # --- what is ready -------------------------------------------------------------------

    def wake(self, execution_arn: str) -> None:
        """Mark an execution runnable (it has stimuli waiting)."""
        with self._ready_lock:
            self._inbox.add(execution_arn)
            if execution_arn in self._stepping:
                self._again.add(execution_arn)
                return
            self._ready[execution_arn] = None
            self._signal.notify()

    def wake_answered(self, execution_arn: str) -> None:
        """Mark an execution runnable for a task's answer that the worker holds in
        memory (``Worker.on_answered``): its step need not read the store's inbox."""
        with self._ready_lock:
            if execution_arn in self._stepping:
                self._again.add(execution_arn)
                return
            self._ready[execution_arn] = None
            self._signal.notify()

    def _take(self, limit: int = BATCH) -> tuple[list[str], set[str]]:
        """Executions to step now, and those of them whose inbox need not be read."""
        if self.leased:
            return self._claim(limit), set()
        with self._ready_lock:
            arns: list[str] = []
            unread: set[str] = set()
            inbox = self._inbox
            while self._ready and len(arns) < limit:
                arn, _ = self._ready.popitem(last=False)
                arns.append(arn)
                if arn in inbox:
                    inbox.discard(arn)  # the step that begins now reads it
                else:
                    unread.add(arn)
            self._stepping.update(arns)
            return arns, unread

    def _claim(self, limit: int) -> list[str]:
        """Leased: claim runnable executions from the store when there is a hint that
        some are (a local wake-up, the scheduler's poll, or a claim that came back full:
        more are waiting)."""
        with self._ready_lock:
            if not (self._ready or self._claim_more):
                return []
            self._ready.clear()
            self._claim_more = False
        assert self.owner is not None
        try:
            lease = Lease(self.owner, time.time(), self.lease_seconds)
            arns = self.store.claim_executions(lease, limit)
        except Exception:
            with self._ready_lock:
                self._claim_more = True  # the store failed: try again next round
            raise
        with self._ready_lock:
            if len(arns) == limit:
                self._claim_more = True
                self._signal.notify()
            self._stepping.update(arns)
        return arns

    def _on_note(self, note: str) -> None:
        """Another server made work (``Store.listen``): ``inbox``, stimuli were queued;
        ``activity``, an activity task was scheduled."""
        if note == "activity":
            self.on_tasks()
            return
        if note != "inbox":
            return
        with self._ready_lock:
            self._notes += 1
            if self.leased:
                self._claim_more = True
                self._signal.notify()
                return
            self._poll_now = True
        with self._tick:
            self._tick.notify()

    def _heard_since(self, notes: int) -> None:
        """Leased: claim again if a note came since ``notes`` (while this server held
        what it had claimed, which that note may have been about)."""
        with self._ready_lock:
            if self._notes != notes:
                self._claim_more = True
                self._signal.notify()

    def _done(self, arns: list[str]) -> None:
        with self._ready_lock:
            self._stepping.difference_update(arns)
            for arn in arns:
                if arn in self._again:
                    self._again.discard(arn)
                    self._ready[arn] = None
            if self._ready:
                self._signal.notify()
        if isinstance(self.clock, ScaledClock):
            # The scheduler looks again whether the engine is idle: its clock may jump.
            self._timers_set()

    def _timers_set(self, due: float | None = None) -> None:
        """Commits wrote timers (``Worker.on_timers``), the first due at ``due``: when
        that is before the time the scheduler waits until (a yield's resume, a retry at
        0 s, a Wait shorter than the others), it looks again. Only then: waking it after
        every batch cost two reads of the timers each, and a start of an execution that
        waits would pay them too. None: look again whatever is due."""
        with self._tick:
            if due is None or due < self._sleeping_until:
                self._timers_new = True  # read by a scheduler about to wait: it does not
                self._tick.notify()

    def recover(self) -> None:
        """After a restart: what has stimuli waiting is ready; tasks that were dispatched
        and never answered are dispatched again. Leased, recovery is the claims: what
        nobody holds (or whose lease ran out) is claimed by the steppers and by
        ``take_over``, and nothing that another live server holds is touched."""
        if self.leased:
            with self._ready_lock:
                self._claim_more = True
            self.take_over()
            return
        for arn in self.store.executions_with_inbox():
            self.wake(arn)
        self.worker.recover()

    def take_over(self) -> int:
        """Leased: run the tasks whose server died (their lease ran out); how many."""
        return self.worker.take_over(time.time())

    def renew(self) -> None:
        """Leased: move on the leases of what this server works on now: the executions
        its steppers hold and the tasks running here (see ``Store.renew_held``)."""
        if self.owner is None:
            return
        with self._ready_lock:
            arns = list(self._stepping)
        tokens = self.worker.held_tokens()
        self.store.renew_held(Lease(self.owner, time.time(), self.lease_seconds), arns, tokens)

    # --- one round -----------------------------------------------------------------------

    def step_ready(self) -> int:
        """Step one batch of ready executions; how much work that was (0: none ready)."""
        notes = self._notes
        arns, unread = self._take()
        if not arns:
            return 0
        try:
            try:
                transitions, committed = self.worker.step(arns, unread)
            except BaseException:
                self._release(arns)
                raise
            finally:
                self._done(arns)
            if self.leased and len(committed) < len(arns):
                # Claimed, not committed (nothing to do after all, or the commit was
                # refused): given up, so that whoever has their next stimulus claims them.
                self._release([arn for arn in arns if arn not in committed])
        finally:
            if self.leased:
                self._heard_since(notes)  # the leases are given up by now
        self.on_stepped()
        return transitions or len(arns)

    def _release(self, arns: list[str]) -> None:
        if self.owner is not None:
            # On failure the leases run out by themselves.
            with contextlib.suppress(Exception):
                self.store.release_executions(self.owner, arns)

    def fire_timers(self) -> int:
        """Turn due timers into stimuli; how many fired."""
        return len(self._fire_round().fired)

    def _fire_round(self) -> TimerRound:
        """``fire_timers``, with what the store found of the timers left."""
        round_ = self.store.fire_timers_round(self.clock.now())
        for arn in round_.fired:
            self.wake(arn)
        return round_

    def poll_inbox(self) -> int:
        """Pick up stimuli that another process wrote (a second server on the same
        store, a CLI): the in-memory ready set only knows this process's writes.
        Leased, the steppers' next claim does it."""
        if self.leased:
            with self._ready_lock:
                self._claim_more = True
                self._signal.notify()
            return 0
        arns = self.store.executions_with_inbox(BATCH * 8)
        for arn in arns:
            self.wake(arn)
        # Answers held in memory whose step failed (the store was busy): tried again.
        for arn in self.worker.answered_executions():
            self.wake_answered(arn)
        return len(arns)

    def wake_up(self) -> None:
        """Let the scheduler and the steppers look again at once."""
        with self._ready_lock:
            self._signal.notify_all()
        with self._tick:
            self._tick.notify_all()

    # --- in threads ----------------------------------------------------------------------

    def start(self, steppers: int | None = None) -> None:
        """Start the scheduler thread and the stepper threads."""
        self._threads = [threading.Thread(target=self._schedule, name="stepfn-scheduler")]
        if self.leased:
            self._threads.append(threading.Thread(target=self._keep_leases, name="stepfn-leases"))
        for n in range(steppers or stepper_count()):
            self._threads.append(threading.Thread(target=self._step, name=f"stepfn-step-{n}"))
        for thread in self._threads:
            thread.daemon = True
            thread.start()
        try:
            self._unlisten = self.store.listen(self._on_note, self.owner)
        except Exception:  # the store is busy: polling finds other servers' work
            log.warning("cannot listen for other servers' work; polling", exc_info=True)

    def _step(self) -> None:
        me = threading.get_ident()
        while not self._stopping:
            if not self._join(me):
                continue
            try:
                if self.step_ready():
                    continue
            except Exception:  # a failed transaction is retried on the next round
                if self._stopping:
                    return
                log.warning("a step failed; it is retried", exc_info=True)
            finally:
                self._leave(me)
            with self._ready_lock:
                if not self._ready and not self._stopping:
                    self._signal.wait(TICK_SECONDS)

    def _join(self, me: int) -> bool:
        """Whether this stepper may step now (see ACTIVE_STEPPERS): counted among the
        active ones when it may; else it has waited a while (on ``_turn``, which
        ``wake`` does not notify: a new execution's wake-up goes to an idle stepper)."""
        limit = self._active_limit
        if limit is None:
            return True
        with self._ready_lock:
            active = self._active
            now = time.monotonic()
            if len(active) < limit or now - max(active.values()) > LONG_STEP_SECONDS:
                active[me] = now
                return True
            # Nobody tells it: it looks again after a step could have run long.
            self._turn.wait(LONG_STEP_SECONDS)
            return False

    def _leave(self, me: int) -> None:
        # No one is told: a stepper that leaves with work ready steps it itself next.
        if self._active_limit is not None:
            with self._ready_lock:
                self._active.pop(me, None)

    def _schedule(self) -> None:
        last_poll = 0.0
        while not self._stopping:
            with self._tick:
                self._timers_new = False  # the reads below see every timer set before
            try:
                timers = self._fire_round()
                busy = len(timers.fired)
                if not busy and (self._poll_now or self.clock.now() - last_poll >= POLL_SECONDS):
                    last_poll = self.clock.now()
                    self._poll_now = False
                    busy += self.poll_inbox()
                # When nothing fired, the round's read told the next timer: a timer set
                # since is flagged (``_timers_new``), and the wait below is skipped.
                due = timers.next_due
            except Exception:  # the store is busy or closing: look again shortly
                busy, due = 0, None
                if self._stopping:
                    return
            if busy:
                continue
            wait = TICK_SECONDS
            if due is not None and isinstance(self.clock, ScaledClock):
                if not (self.worker.in_flight() or self._ready or self._stepping):
                    # Idle until a timer: a scaled clock shortens the wait, then jumps.
                    wait = min(TICK_SECONDS, self.clock.skip_towards(due))
                else:
                    wait = max(0.0, min(TICK_SECONDS, due - self.clock.now()))
            elif due is not None:
                wait = max(0.0, min(TICK_SECONDS, due - self.clock.now()))
            with self._tick:
                if not (self._stopping or self._poll_now or self._timers_new):
                    # On the engine's clock, as the timers' due times are: a timer due
                    # later is found when the wait ends, by the read above.
                    self._sleeping_until = self.clock.now() + wait
                    self._tick.wait(wait)
                    self._sleeping_until = math.inf

    def _keep_leases(self) -> None:
        """Leased: renew this server's leases (a quarter of a lease apart) and take over
        the tasks of dead servers, in a thread of its own: a busy scheduler or stepper
        must never make this live server's leases lapse. Real time, whatever the
        engine's clock: leases are about processes."""
        last_renew = last_takeover = time.monotonic()
        while not self._stopping:
            now = time.monotonic()
            try:
                if now - last_renew >= self.lease_seconds / 4:
                    last_renew = now
                    self.renew()
                if now - last_takeover >= TAKEOVER_SECONDS:
                    last_takeover = now
                    self.worker.write_answers()
                    self.take_over()
            except Exception:  # the store is busy or closing: again at the next turn
                if self._stopping:
                    return
                log.warning("renewing leases or taking tasks over failed", exc_info=True)
            wait = min(last_renew + self.lease_seconds / 4, last_takeover + TAKEOVER_SECONDS)
            with self._keeper:
                if not self._stopping:
                    self._keeper.wait(max(0.01, wait - time.monotonic()))

    def stop(self) -> None:
        """Stop the threads (a step in progress ends first)."""
        self._stopping = True
        unlisten, self._unlisten = self._unlisten, None
        if unlisten is not None:
            unlisten()
        with self._ready_lock:
            self._signal.notify_all()
            self._turn.notify_all()  # steppers waiting for a turn stop too
        for condition in (self._tick, self._keeper):
            with condition:
                condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.owner is not None:
            # A clean stop: the other servers need not wait for these leases to run out.
            with contextlib.suppress(Exception):
                self.store.release_leases(self.owner)

    # --- in the caller's thread ----------------------------------------------------------

    def run_until_idle(self, max_rounds: int = 1_000_000) -> None:
        """Drive the engine in this thread until nothing is left to do now, moving a
        virtual clock forward to each next timer. For tests and one-shot runs."""
        for _ in range(max_rounds):
            # Timers first: with a virtual clock a task may have moved time past a timer
            # that must act before the task's answer (its timeout, say).
            fired = self.fire_timers()
            if self.step_ready() or fired:
                continue
            if self.worker.in_flight():
                self.worker.wait_idle(1.0)
                continue
            with self._ready_lock:
                if self._ready:
                    continue
            if self.clock.virtual:
                due = self.store.next_timer_due()
                if due is None:
                    return
                self.clock.sleep_until(due)
                continue
            return
