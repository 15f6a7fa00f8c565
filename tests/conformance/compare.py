"""Compare what stepfn did with what AWS recorded for a conformance case.

Every function here returns a list of human-readable differences; an empty list means the
result conforms. The rules follow the cases' README:

Values
    JSON values compare structurally. Numbers compare by value (``1 == 1.0``) but a boolean
    is never a number. A dict key we produce that AWS did not (or the reverse) is a
    difference. A key named ``stackTrace`` compares as present or absent only: AWS's lines
    name files inside its Lambda sandbox (``/var/task/handler.py``) that no local run has.

Placeholders
    A case lists the strings in ``expected`` that stood for dynamic values. A string that
    *is* a placeholder matches any value. A placeholder *inside* a longer string matches any
    run of characters there (``arn:<partition>:states:...``). A bare-word placeholder
    (``date``, ``111111111111``) only counts inside a longer string when it is not glued to
    letters or digits, so the ``date`` placeholder does not loosen ``"HelloWorldUpdated"``;
    bracketed ones (``<uuid:1>``) always count. Inside a string that holds JSON text (a
    Lambda error cause caught into the output), the ``"stackTrace": [...]`` list matches any
    list, for the reason above.

Status, output, error and cause
    The status must be equal. ``output`` is compared when AWS recorded one and must be
    absent (None) otherwise; the same for ``error`` and ``cause``. When the recorded cause
    is a JSON object or list (AWS returned JSON text), our cause text is parsed and compared
    structurally; otherwise it is compared as a string, exactly.

History (``(type, name, index)`` per event, where AWS recorded a name or index)
    Equal sequences conform. Otherwise events of concurrent units may have interleaved
    differently, so the comparison is structural:

    1. Each history is cut into *outer* events and *regions*. A region is an outermost
       Parallel or Map state: from its ``ParallelStateEntered``/``MapStateEntered`` to the
       ``...StateExited`` of the same name (or to the end of the execution when the state
       failed the execution). The outer sequences, with each region as one token, must be
       equal, in order.
    2. Within a region: the events must be equal as a multiset; the first event (the
       state's own ``...StateStarted``) must be equal, and so must the last when it is the
       state's own ``...StateSucceeded/Failed/Aborted``.
    3. Parallel: the definition tells which state names belong to which branch (nested
       states included). Each branch's named events, in order, are compared recursively
       with these same rules, so a nested Parallel may interleave inside its branch.
       Events without a name (``TaskScheduled``, ...) can only be checked by the multiset.
    4. Map: for each iteration index, the ``MapIteration*`` events of that index must be
       equal in order. When in both histories no two iterations overlap (``MaxConcurrency``
       1, or a sequential run), the events between an iteration's start and end belong to
       it, and each iteration's events are compared recursively.

    This accepts exactly the reorderings concurrency can produce for named events, and
    stays sound (never lets a missing or extra event through) for unnamed ones.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# How much of a value to show in a difference before eliding it.
_SHOW = 160
# A long history diff helps nobody past this many lines.
_MAX_HISTORY_LINES = 12

_TERMINAL = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)
_REGION_KINDS = {"ParallelStateEntered": "Parallel", "MapStateEntered": "Map"}
_ITERATION_END = frozenset({"MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"})


def _show(value: Any) -> str:
    """A value as short JSON text, for a difference message."""
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


def _string_difference(expected: str, actual: str) -> str:
    """Two long strings shown from a little before where they part, not from the start."""
    if len(expected) <= _SHOW and len(actual) <= _SHOW:
        return f"expected {_show(expected)}, got {_show(actual)}"
    same = 0
    for e, a in zip(expected, actual, strict=False):
        if e != a:
            break
        same += 1
    start = max(0, same - 30)
    lead = "..." if start else ""
    return (
        f"differs from character {same}: expected {lead}{_show(expected[start:])}, "
        f"got {lead}{_show(actual[start:])}"
    )


# --------------------------------------------------------------------------- placeholders


class Placeholders:
    """The placeholder strings of one case, and the matchers built from them."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = frozenset(n for n in names if n)
        # Longest first, so "<timestamp>" wins over the "timestamp" inside it.
        ordered = sorted(self.names, key=len, reverse=True)
        self._find = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._cache: dict[str, re.Pattern[str] | None] = {}

    def standalone(self, text: str) -> bool:
        """Whether ``text`` is a placeholder on its own, standing for any value."""
        return text in self.names

    def matches(self, expected: str, actual: str) -> bool:
        """Whether ``actual`` matches the expected string, placeholders included."""
        if expected == actual:
            return True
        pattern = self._pattern(expected)
        return pattern is not None and pattern.fullmatch(actual) is not None

    def _pattern(self, expected: str) -> re.Pattern[str] | None:
        """A regex for ``expected`` when it holds wildcards, else None (compare exactly)."""
        if expected not in self._cache:
            self._cache[expected] = self._compile(expected)
        return self._cache[expected]

    def _compile(self, expected: str) -> re.Pattern[str] | None:
        spans = _stack_trace_spans(expected)
        if self._find is not None:
            for m in self._find.finditer(expected):
                if self._embedded(expected, m.start(), m.end()) and not _inside(m, spans):
                    spans.append((m.start(), m.end()))
        if not spans:
            return None
        spans.sort()
        parts: list[str] = []
        pos = 0
        for start, end in spans:
            parts.append(re.escape(expected[pos:start]))
            # A stack trace keeps its brackets so that absent-versus-present still shows.
            is_trace = expected[start] == "[" and expected[end - 1] == "]"
            parts.append(r"\[.*\]" if is_trace else ".*")
            pos = end
        parts.append(re.escape(expected[pos:]))
        return re.compile("".join(parts), re.DOTALL)

    @staticmethod
    def _embedded(text: str, start: int, end: int) -> bool:
        """Whether the placeholder found at ``text[start:end]`` stands for a dynamic part."""
        word = text[start:end]
        if word.startswith("<") and word.endswith(">"):
            return True
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        return not before.isalnum() and not after.isalnum()


def _inside(m: re.Match[str], spans: list[tuple[int, int]]) -> bool:
    return any(s <= m.start() and m.end() <= e for s, e in spans)


_TRACE_KEY = re.compile(r'"stackTrace"\s*:\s*\[')


def _stack_trace_spans(text: str) -> list[tuple[int, int]]:
    """The ``[...]`` spans of ``"stackTrace": [...]`` lists inside JSON text."""
    spans = []
    for m in _TRACE_KEY.finditer(text):
        start = m.end() - 1
        end = _closing_bracket(text, start)
        if end is not None:
            spans.append((start, end))
    return spans


def _closing_bracket(text: str, start: int) -> int | None:
    """The index just past the ``]`` closing the ``[`` at ``start``, skipping JSON strings."""
    depth = 0
    in_string = False
    i = start
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


# --------------------------------------------------------------------------------- values


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    """The JSON type name of a value, for "expected a string, got a number" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def compare_values(
    expected: Any, actual: Any, placeholders: Placeholders | None = None, path: str = "$"
) -> list[str]:
    """Differences between two JSON values, each prefixed with where it is (``$.a[0]``)."""
    ph = placeholders or Placeholders()
    diffs: list[str] = []
    _compare(expected, actual, ph, path, diffs)
    return diffs


def _compare(expected: Any, actual: Any, ph: Placeholders, path: str, out: list[str]) -> None:
    if isinstance(expected, str) and ph.standalone(expected):
        return
    if _is_number(expected) and _is_number(actual):
        if expected != actual and not (math.isnan(expected) and math.isnan(actual)):
            out.append(f"{path}: expected {_show(expected)}, got {_show(actual)}")
        return
    if _kind(expected) != _kind(actual):
        out.append(
            f"{path}: expected {_kind(expected)} {_show(expected)}, "
            f"got {_kind(actual)} {_show(actual)}"
        )
        return
    if isinstance(expected, dict):
        _compare_objects(expected, actual, ph, path, out)
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            out.append(
                f"{path}: expected {len(expected)} items, got {len(actual)}: "
                f"expected {_show(expected)}, got {_show(actual)}"
            )
            return
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _compare(e, a, ph, f"{path}[{i}]", out)
    elif isinstance(expected, str):
        if not ph.matches(expected, actual):
            out.append(f"{path}: {_string_difference(expected, actual)}")
    elif expected != actual:
        out.append(f"{path}: expected {_show(expected)}, got {_show(actual)}")


def _compare_objects(
    expected: dict[str, Any], actual: dict[str, Any], ph: Placeholders, path: str, out: list[str]
) -> None:
    for key in expected:
        if key not in actual:
            out.append(f"{path}: missing key {key!r} (expected {_show(expected[key])})")
    for key in actual:
        if key not in expected:
            out.append(f"{path}: unexpected key {key!r} = {_show(actual[key])}")
    for key, value in expected.items():
        # A stack trace's lines name AWS's sandbox files: only its presence is compared.
        if key in actual and key != "stackTrace":
            _compare(value, actual[key], ph, f"{path}.{key}", out)


# ------------------------------------------------------------------------------ execution


def compare_cause(expected: Any, actual: str | None, placeholders: Placeholders) -> list[str]:
    """Differences in the cause: parsed as JSON when AWS's recorded cause was JSON."""
    if isinstance(expected, dict | list):
        if actual is None:
            return [f"cause: expected {_show(expected)}, got none"]
        try:
            parsed = json.loads(actual)
        except ValueError:
            return [f"cause: expected JSON {_show(expected)}, got text {_show(actual)}"]
        return compare_values(expected, parsed, placeholders, "cause")
    if expected is None:
        return [] if actual is None else [f"cause: expected none, got {_show(actual)}"]
    return compare_values(expected, actual, placeholders, "cause")


def compare_result(
    expected: Mapping[str, Any],
    *,
    status: str,
    output: Any,
    error: str | None,
    cause: str | None,
    placeholders: Placeholders | None = None,
) -> list[str]:
    """Differences between an execution's outcome and a case's ``expected`` block."""
    ph = placeholders or Placeholders()
    diffs: list[str] = []
    if status != expected.get("status"):
        diffs.append(f"status: expected {expected.get('status')}, got {status}")
    if "output" in expected:
        diffs += compare_values(expected["output"], output, ph, "output")
    elif output is not None:
        diffs.append(f"output: expected none, got {_show(output)}")
    if "error" in expected:
        diffs += compare_values(expected["error"], error, ph, "error")
    elif error is not None:
        diffs.append(f"error: expected none, got {_show(error)}")
    if "cause" in expected:
        diffs += compare_cause(expected["cause"], cause, ph)
    elif cause is not None:
        diffs.append(f"cause: expected none, got {_show(cause)}")
    return diffs


# -------------------------------------------------------------------------------- history


@dataclass(frozen=True)
class EventKey:
    """What a history comparison looks at in one event."""

    type: str
    name: str | None = None
    index: int | None = None

    def __str__(self) -> str:
        text = self.type
        if self.name is not None:
            text += f" {self.name!r}"
        if self.index is not None:
            text += f" #{self.index}"
        return text


def expected_key(event: Mapping[str, Any]) -> EventKey:
    """The key of a recorded event (``{"type", "name"?, "index"?}``)."""
    return EventKey(event["type"], event.get("name"), event.get("index"))


def _details_key(event_type: str) -> str | None:
    """Where AWS puts the state name of an event of this type, if it has one."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    if event_type.startswith("MapIteration"):
        return event_type[0].lower() + event_type[1:] + "EventDetails"
    return None


def actual_key(event: Mapping[str, Any]) -> EventKey:
    """The key of one of our events (shaped as GetExecutionHistory returns them)."""
    event_type = str(event.get("type"))
    where = _details_key(event_type)
    details = event.get(where) if where else None
    if not isinstance(details, Mapping):
        return EventKey(event_type)
    index = details.get("index")
    return EventKey(event_type, details.get("name"), index if isinstance(index, int) else None)


@dataclass(frozen=True)
class _Region:
    """An outermost Parallel or Map state's events, concurrency inside."""

    kind: str
    name: str
    events: tuple[EventKey, ...]
    exited: bool

    @property
    def token(self) -> str:
        return f"[{self.kind} {self.name!r}{'' if self.exited else ', not exited'}]"


def _segment(events: Sequence[EventKey]) -> list[EventKey | _Region]:
    """Cut a history into outer events and regions (rule 1 of the module docstring)."""
    out: list[EventKey | _Region] = []
    i = 0
    while i < len(events):
        event = events[i]
        kind = _REGION_KINDS.get(event.type)
        if kind is None or event.name is None:
            out.append(event)
            i += 1
            continue
        out.append(event)
        exit_type = f"{kind}StateExited"
        j = i + 1
        while j < len(events):
            e = events[j]
            if (e.type == exit_type and e.name == event.name) or e.type in _TERMINAL:
                break
            j += 1
        exited = j < len(events) and events[j].type == exit_type
        out.append(_Region(kind, event.name, tuple(events[i + 1 : j]), exited))
        i = j
    return out


def _outer_token(item: EventKey | _Region) -> str:
    return item.token if isinstance(item, _Region) else str(item)


def _sequence_diff(expected: Sequence[str], actual: Sequence[str], where: str) -> list[str]:
    """A short, readable diff of two event sequences."""
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        exp = ", ".join(expected[i1:i2])
        act = ", ".join(actual[j1:j2])
        if op == "delete":
            lines.append(f"{where}[{i1}]: missing {exp}")
        elif op == "insert":
            lines.append(f"{where}[{i1}]: unexpected {act}")
        else:
            lines.append(f"{where}[{i1}]: expected {exp}; got {act}")
        if len(lines) >= _MAX_HISTORY_LINES:
            lines.append(f"{where}: (more differences not shown)")
            break
    return lines


def _state_names(machine: Mapping[str, Any]) -> set[str]:
    """Every state name in a (sub-)state machine, nested branches and processors included."""
    names: set[str] = set()
    states = machine.get("States")
    if not isinstance(states, Mapping):
        return names
    for name, state in states.items():
        names.add(name)
        if isinstance(state, Mapping):
            for child in _children(state):
                names |= _state_names(child)
    return names


def _children(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The nested state machines of a Parallel (branches) or Map (its processor)."""
    found: list[Mapping[str, Any]] = []
    branches = state.get("Branches")
    if isinstance(branches, list):
        found += [b for b in branches if isinstance(b, Mapping)]
    for key in ("ItemProcessor", "Iterator"):
        processor = state.get(key)
        if isinstance(processor, Mapping):
            found.append(processor)
    return found


def parallel_branches(definition: Mapping[str, Any] | None) -> dict[str, list[set[str]]]:
    """For every Parallel state in a definition, the state names of each of its branches."""
    result: dict[str, list[set[str]]] = {}

    def walk(machine: Mapping[str, Any]) -> None:
        states = machine.get("States")
        if not isinstance(states, Mapping):
            return
        for name, state in states.items():
            if not isinstance(state, Mapping):
                continue
            if state.get("Type") == "Parallel" and isinstance(state.get("Branches"), list):
                result[name] = [
                    _state_names(b) for b in state["Branches"] if isinstance(b, Mapping)
                ]
            for child in _children(state):
                walk(child)

    if definition:
        walk(definition)
    return result


def compare_history(
    expected: Sequence[Mapping[str, Any]],
    actual: Sequence[Mapping[str, Any]],
    definition: Mapping[str, Any] | None = None,
) -> list[str]:
    """Differences between AWS's recorded events and ours (see the module docstring)."""
    exp = [expected_key(e) for e in expected]
    act = [actual_key(e) for e in actual]
    return _compare_sequence(exp, act, parallel_branches(definition), "history")


def _compare_sequence(
    exp: Sequence[EventKey],
    act: Sequence[EventKey],
    branches: Mapping[str, list[set[str]]],
    where: str,
) -> list[str]:
    if list(exp) == list(act):
        return []
    exp_items = _segment(exp)
    act_items = _segment(act)
    exp_tokens = [_outer_token(x) for x in exp_items]
    act_tokens = [_outer_token(x) for x in act_items]
    if exp_tokens != act_tokens:
        return _sequence_diff(exp_tokens, act_tokens, where)
    diffs: list[str] = []
    for e, a in zip(exp_items, act_items, strict=True):
        if isinstance(e, _Region) and isinstance(a, _Region):
            diffs += _compare_region(e, a, branches, f"{where} {e.kind} {e.name!r}")
    return diffs


def _own_end(region: _Region, event: EventKey) -> bool:
    """Whether ``event`` is the region's state finishing (``MapStateSucceeded``, ...)."""
    return event.type in {f"{region.kind}State{end}" for end in ("Succeeded", "Failed", "Aborted")}


def _compare_region(
    exp: _Region, act: _Region, branches: Mapping[str, list[set[str]]], where: str
) -> list[str]:
    if exp.events == act.events:
        return []
    diffs: list[str] = []
    missing = Counter(exp.events) - Counter(act.events)
    extra = Counter(act.events) - Counter(exp.events)
    if missing:
        diffs.append(f"{where}: missing events {_counted(missing)}")
    if extra:
        diffs.append(f"{where}: unexpected events {_counted(extra)}")
    if exp.events and act.events:
        if exp.events[0] != act.events[0]:
            diffs.append(f"{where}: first event: expected {exp.events[0]}, got {act.events[0]}")
        last = exp.events[-1]
        if _own_end(exp, last) and act.events[-1] != last:
            diffs.append(f"{where}: last event: expected {last}, got {act.events[-1]}")
    if exp.kind == "Parallel" and exp.name in branches:
        for n, names in enumerate(branches[exp.name]):
            diffs += _compare_sequence(
                [e for e in exp.events if e.name in names],
                [e for e in act.events if e.name in names],
                branches,
                f"{where} branch {n}",
            )
    elif exp.kind == "Map":
        diffs += _compare_iterations(exp, act, branches, where)
    return diffs


def _counted(counter: Counter[EventKey]) -> str:
    parts = [f"{key}" + (f" x{n}" if n > 1 else "") for key, n in counter.items()]
    text = ", ".join(parts)
    return text if len(text) <= 4 * _SHOW else text[: 4 * _SHOW - 3] + "..."


def _iteration_events(region: _Region) -> dict[int, list[EventKey]]:
    """Each iteration index's own ``MapIteration*`` events, in order."""
    per_index: dict[int, list[EventKey]] = {}
    for e in region.events:
        if e.type.startswith("MapIteration") and e.name == region.name and e.index is not None:
            per_index.setdefault(e.index, []).append(e)
    return per_index


def _sequential_iterations(region: _Region) -> dict[tuple[int, int], list[EventKey]] | None:
    """Each iteration's inner events, keyed by (index, attempt); None if any two overlap.

    An index shows up more than once when the Map state is retried: the attempt number
    tells those runs apart.
    """
    runs: dict[tuple[int, int], list[EventKey]] = {}
    seen: Counter[int] = Counter()
    current: list[EventKey] | None = None
    for e in region.events:
        own = e.name == region.name and e.index is not None
        if own and e.type == "MapIterationStarted":
            if current is not None:
                return None
            index = e.index or 0
            current = runs.setdefault((index, seen[index]), [])
            seen[index] += 1
        elif own and e.type in _ITERATION_END:
            if current is None:
                return None
            current = None
        elif current is not None:
            current.append(e)
    return runs if current is None else None


def _compare_iterations(
    exp: _Region, act: _Region, branches: Mapping[str, list[set[str]]], where: str
) -> list[str]:
    diffs: list[str] = []
    exp_iters = _iteration_events(exp)
    act_iters = _iteration_events(act)
    for index in sorted(set(exp_iters) | set(act_iters)):
        e_seq = [str(k) for k in exp_iters.get(index, [])]
        a_seq = [str(k) for k in act_iters.get(index, [])]
        if e_seq != a_seq:
            diffs.append(f"{where} iteration {index}: expected {e_seq}, got {a_seq}")
    exp_runs = _sequential_iterations(exp)
    act_runs = _sequential_iterations(act)
    if exp_runs is None or act_runs is None:
        return diffs
    for key in sorted(set(exp_runs) & set(act_runs)):
        label = f"{where} iteration {key[0]}" + (f" (attempt {key[1] + 1})" if key[1] else "")
        diffs += _compare_sequence(exp_runs[key], act_runs[key], branches, label)
    return diffs


# ----------------------------------------------------------------------------------- case


def compare_case(
    case: Mapping[str, Any],
    *,
    status: str,
    output: Any,
    error: str | None,
    cause: str | None,
    history: Sequence[Mapping[str, Any]] | None,
) -> list[str]:
    """All differences between one execution and a conformance case's recording."""
    ph = Placeholders(case.get("placeholders") or ())
    diffs = compare_result(
        case["expected"], status=status, output=output, error=error, cause=cause, placeholders=ph
    )
    recorded = case.get("history")
    if recorded is not None:
        if history is None:
            diffs.append("history: expected events, got none")
        else:
            diffs += compare_history(recorded, history, case.get("definition"))
    return diffs
