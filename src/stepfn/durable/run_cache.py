"""The run states this worker committed last, parsed, so that the next step of the same
execution need not parse its JSON again.

A step reads its execution's run state from the store (JSON text), applies its stimuli
and commits the new state's text. Parsing that text is a large share of a step's cost,
and grows with the execution's threads: a Map of 1,000 iterations holds 1,000 of them,
and each answer of one of its tasks is a step that would parse them all. The worker
keeps the object it committed, under the text it committed, and the next step takes it
back only when the store still holds that very text: whoever wrote the row since (a
second server on the same database, a redrive, a step of this worker that was refused)
changed the text, and the step parses what the store has. Comparing two strings is the
whole check, so the cache can never hand out a state the store does not hold.

``take`` removes the entry: the interpreter changes the object in place, and a step whose
commit is refused must not leave a changed object behind. Bounded by the characters of
the texts it holds (least recently kept first out).

An entry may also hold the execution's row as that commit left it, with its context
facts (``take_kept``): a worker that alone writes its executions (unleased) steps on from
them without reading the row at all. That step's commit then checks that the row still
holds the kept text (``StepCommit.expected_run_state``) besides its ``next_event_id``:
the same two strings compared, in the store's statement instead of here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from stepfn.interp.context import ExecutionInfo
from stepfn.interp.runstate import RunState, run_state_from_json
from stepfn.store.base import ExecutionRecord

MAX_CHARACTERS = 64 * 1024 * 1024  # of run-state text held, all entries together


@dataclass(slots=True)
class Kept:
    """A committed run state: its text, the object, and optionally the execution's row
    as that commit left it (``run_state`` is ``text``) with its context facts."""

    text: str
    run: RunState
    record: ExecutionRecord | None = None
    info: ExecutionInfo | None = None


class RunStates:
    """Parsed run states by execution ARN, each valid for one stored text."""

    def __init__(self, max_characters: int = MAX_CHARACTERS) -> None:
        self.max_characters = max_characters
        self._entries: OrderedDict[str, Kept] = OrderedDict()
        self._characters = 0
        self._lock = threading.Lock()

    def take(self, arn: str, text: str) -> RunState:
        """The run state that ``text`` (the store's, for ``arn``) holds: the kept object
        when it was kept for that same text, else ``text`` parsed. Either way the
        caller owns the object (it is no longer kept)."""
        return self.parsed(self.take_kept(arn), text)

    @staticmethod
    def parsed(kept: Kept | None, text: str) -> RunState:
        """The run state of ``text``: ``kept``'s object when it was kept for that same
        text, else ``text`` parsed."""
        if kept is not None and kept.text == text:
            return kept.run
        return run_state_from_json(text)

    def take_kept(self, arn: str) -> Kept | None:
        """Remove and return what is kept for ``arn``, if anything."""
        with self._lock:
            entry = self._entries.pop(arn, None)
            if entry is not None:
                self._characters -= len(entry.text)
        return entry

    def keep(
        self,
        arn: str,
        text: str,
        run: RunState,
        record: ExecutionRecord | None = None,
        info: ExecutionInfo | None = None,
    ) -> None:
        """Keep ``run``, whose committed text is ``text``, for the next step of ``arn``
        (with ``record``, the row that commit left, and its ``info``, when given)."""
        if len(text) > self.max_characters:
            return
        with self._lock:
            old = self._entries.pop(arn, None)
            if old is not None:
                self._characters -= len(old.text)
            self._entries[arn] = Kept(text, run, record, info)
            self._characters += len(text)
            while self._characters > self.max_characters:
                _, dropped = self._entries.popitem(last=False)
                self._characters -= len(dropped.text)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
