"""The immutable model of a state machine: one frozen dataclass per state type.

``build(definition)`` turns a validated definition (a dict) into a ``Machine``. Every
expression is compiled here, once, so that the interpreter's hot loop only evaluates:
JSONPath paths into ``JsonPath`` objects, payload templates (``Parameters``,
``ResultSelector``, ``ItemSelector``) into ``Template`` trees, intrinsic calls into
``IntrinsicCall`` trees. JSONata fields stay as their raw JSON values; the interpreter
evaluates them with ``stepfn.lang.jsonata``, which caches compiled expressions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stepfn.lang.jsonpath import JsonPath, ReferencePath, compile_path, compile_reference_path

JSONPATH = "JSONPath"
JSONATA = "JSONata"


# --- payload templates -------------------------------------------------------------------
# A template is a JSON value whose ``"key.$"`` entries are evaluated. Constant subtrees
# are kept as they are (the interpreter never mutates data in place, so sharing is safe).


@dataclass(frozen=True, slots=True)
class Const:
    """A constant part of a template."""

    value: Any


@dataclass(frozen=True, slots=True)
class PathRef:
    """A ``"key.$": "$.path"`` entry: the value at a path."""

    path: JsonPath
    field: str  # the key as written, with ``.$``, for error messages


@dataclass(frozen=True, slots=True)
class Intrinsic:
    """A ``"key.$": "States.Format(...)"`` entry."""

    call: Any  # stepfn.lang.intrinsics.IntrinsicCall
    text: str
    field: str


@dataclass(frozen=True, slots=True)
class ObjectTemplate:
    """An object with at least one evaluated entry somewhere below it."""

    entries: tuple[tuple[str, TemplateNode], ...]


@dataclass(frozen=True, slots=True)
class ArrayTemplate:
    """An array with at least one evaluated entry somewhere below it."""

    items: tuple[TemplateNode, ...]


TemplateNode = Const | PathRef | Intrinsic | ObjectTemplate | ArrayTemplate


def compile_template(value: Any) -> TemplateNode:
    """Compile a JSONPath-mode payload template (Parameters, ResultSelector, ...)."""
    if isinstance(value, Mapping):
        entries: list[tuple[str, TemplateNode]] = []
        dynamic = False
        for key, item in value.items():
            if key.endswith(".$") and isinstance(item, str):
                entries.append((key[:-2], _compile_dynamic(item, key)))
                dynamic = True
            else:
                node = compile_template(item)
                dynamic = dynamic or not isinstance(node, Const)
                entries.append((key, node))
        if not dynamic:
            return Const(value)
        return ObjectTemplate(tuple(entries))
    if isinstance(value, list):
        items = tuple(compile_template(v) for v in value)
        if all(isinstance(n, Const) for n in items):
            return Const(value)
        return ArrayTemplate(items)
    return Const(value)


def _compile_dynamic(text: str, key: str) -> TemplateNode:
    from stepfn.lang.intrinsics import is_intrinsic, parse_intrinsic

    if is_intrinsic(text):
        return Intrinsic(parse_intrinsic(text), text, key)
    return PathRef(compile_path(text), key)


# --- Retry and Catch ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retrier:
    """One entry of a state's ``Retry`` list."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: str = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    """One entry of a state's ``Catch`` list."""

    error_equals: tuple[str, ...]
    next: str
    result_path: ReferencePath | None  # None: ``"ResultPath": null`` keeps the input
    result_path_set: bool  # False when ResultPath is absent (defaults to "$")
    output: Any = None  # JSONata ``Output``
    assign: Mapping[str, Any] | None = None


# --- states ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """What every state has: its name, type, transition and query language."""

    name: str
    type: str
    query_language: str
    next: str | None = None
    end: bool = False
    comment: str | None = None
    # JSONPath data flow (None: the field is absent; see ``*_null`` for explicit nulls)
    input_path: JsonPath | None = None
    input_path_null: bool = False
    output_path: JsonPath | None = None
    output_path_null: bool = False
    # JSONata data flow
    output: Any = None
    has_output: bool = False
    assign: Mapping[str, Any] | None = None
    # Whether a JSONata field of the state may read $states.context: building the context
    # object costs more than most expressions, so states that never name it skip it.
    reads_context: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def jsonata(self) -> bool:
        """Whether the state evaluates JSONata."""
        return self.query_language == JSONATA


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultFlowState(State):
    """A state that produces a result: Pass, Task, Map, Parallel."""

    parameters: TemplateNode | None = None
    result_selector: TemplateNode | None = None
    result_path: ReferencePath | None = None
    result_path_null: bool = False
    arguments: Any = None
    has_arguments: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PassState(ResultFlowState):
    """Passes its input (or ``Result``) to its output."""

    result: Any = None
    has_result: bool = False
    # The size of Result as compact UTF-8 JSON: it never changes, so the 256 KiB limit on
    # a state's result is measured once here rather than on every run of the state.
    result_bytes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryingState(ResultFlowState):
    """A state with Retry and Catch: Task, Map, Parallel."""

    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskState(RetryingState):
    """Runs work through a task adapter chosen by its ``Resource``."""

    resource: str = ""
    timeout_seconds: Any = None  # int, or a JSONata string
    timeout_seconds_path: JsonPath | None = None
    heartbeat_seconds: Any = None
    heartbeat_seconds_path: JsonPath | None = None
    credentials: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceRuleModel:
    """A top-level Choice rule: its condition and where it leads."""

    next: str
    rule: Any  # the JSONPath rule as written, or a JSONata condition string
    assign: Mapping[str, Any] | None = None
    output: Any = None
    has_output: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceState(State):
    """Chooses the next state by the first rule that matches."""

    choices: tuple[ChoiceRuleModel, ...] = ()
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitState(State):
    """Waits for a duration or until a time."""

    seconds: Any = None
    seconds_path: JsonPath | None = None
    timestamp: Any = None
    timestamp_path: JsonPath | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceedState(State):
    """Ends the execution (or branch, or iteration) successfully."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FailState(State):
    """Ends the execution (or branch, or iteration) with an error and a cause."""

    error: Any = None
    error_path: Any = None  # JsonPath or IntrinsicCall
    cause: Any = None
    cause_path: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelState(RetryingState):
    """Runs its branches side by side; its result is the list of their outputs."""

    branches: tuple[Machine, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MapState(RetryingState):
    """Runs its item processor once per item."""

    processor: Machine | None = None
    distributed: bool = False
    # A distributed Map's ProcessorConfig.ExecutionType: STANDARD children are stored
    # executions; EXPRESS ones are not.
    execution_type: str = "STANDARD"
    items_path: JsonPath | None = None
    items: Any = None  # JSONata ``Items``
    has_items: bool = False
    item_selector: TemplateNode | None = None  # ItemSelector or legacy Parameters (JSONPath)
    item_selector_raw: Any = None  # JSONata ItemSelector
    has_item_selector: bool = False
    max_concurrency: Any = 0
    max_concurrency_path: JsonPath | None = None
    tolerated_failure_count: Any = None
    tolerated_failure_count_path: JsonPath | None = None
    tolerated_failure_percentage: Any = None
    tolerated_failure_percentage_path: JsonPath | None = None
    item_reader: Mapping[str, Any] | None = None
    item_batcher: Mapping[str, Any] | None = None
    result_writer: Mapping[str, Any] | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Machine:
    """A state machine, or a Parallel branch, or a Map item processor."""

    start_at: str
    states: Mapping[str, State]
    query_language: str = JSONPATH
    timeout_seconds: int | None = None
    comment: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


# --- building ----------------------------------------------------------------------------


def _json_bytes(value: Any) -> int:
    """Bytes of ``value`` as compact JSON in UTF-8, as Step Functions measures payloads."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def build(definition: Mapping[str, Any], query_language: str | None = None) -> Machine:
    """Build the model of a validated definition (or of a branch / item processor)."""
    ql = definition.get("QueryLanguage") or query_language or JSONPATH
    states = {
        name: _build_state(name, raw, raw.get("QueryLanguage") or ql)
        for name, raw in definition["States"].items()
    }
    return Machine(
        start_at=definition["StartAt"],
        states=states,
        query_language=ql,
        timeout_seconds=definition.get("TimeoutSeconds"),
        comment=definition.get("Comment"),
        raw=definition,
    )


def _opt_path(raw: Mapping[str, Any], key: str) -> JsonPath | None:
    value = raw.get(key)
    return compile_path(value) if isinstance(value, str) else None


def _base_fields(name: str, raw: Mapping[str, Any], ql: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": name,
        "type": raw["Type"],
        "query_language": ql,
        "next": raw.get("Next"),
        "end": bool(raw.get("End", False)),
        "comment": raw.get("Comment"),
        "raw": raw,
        "assign": raw.get("Assign"),
    }
    if ql == JSONPATH:
        fields["input_path"] = _opt_path(raw, "InputPath")
        fields["input_path_null"] = "InputPath" in raw and raw["InputPath"] is None
        fields["output_path"] = _opt_path(raw, "OutputPath")
        fields["output_path_null"] = "OutputPath" in raw and raw["OutputPath"] is None
    else:
        fields["output"] = raw.get("Output")
        fields["has_output"] = "Output" in raw
        fields["reads_context"] = bool(_CONTEXT_USE.search(json.dumps(raw)))
    return fields


# ``$states`` followed by anything but a member that is not the context object.
_CONTEXT_USE = re.compile(r"\$states(?!\.(?:input|result|errorOutput)\b)")


def _result_fields(raw: Mapping[str, Any], ql: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if ql == JSONPATH:
        if "Parameters" in raw:
            fields["parameters"] = compile_template(raw["Parameters"])
        if "ResultSelector" in raw:
            fields["result_selector"] = compile_template(raw["ResultSelector"])
        if "ResultPath" in raw:
            if raw["ResultPath"] is None:
                fields["result_path_null"] = True
            else:
                fields["result_path"] = compile_reference_path(raw["ResultPath"])
    else:
        fields["arguments"] = raw.get("Arguments")
        fields["has_arguments"] = "Arguments" in raw
    return fields


def _retry_fields(raw: Mapping[str, Any], ql: str) -> dict[str, Any]:
    retry = tuple(
        Retrier(
            error_equals=tuple(r["ErrorEquals"]),
            interval_seconds=r.get("IntervalSeconds", 1),
            max_attempts=r.get("MaxAttempts", 3),
            backoff_rate=r.get("BackoffRate", 2.0),
            max_delay_seconds=r.get("MaxDelaySeconds"),
            jitter_strategy=r.get("JitterStrategy", "NONE"),
        )
        for r in raw.get("Retry", ())
    )
    catch = tuple(
        Catcher(
            error_equals=tuple(c["ErrorEquals"]),
            next=c["Next"],
            result_path=(
                compile_reference_path(c["ResultPath"])
                if isinstance(c.get("ResultPath"), str)
                else None
            ),
            result_path_set="ResultPath" in c,
            output=c.get("Output"),
            assign=c.get("Assign"),
        )
        for c in raw.get("Catch", ())
    )
    return {"retry": retry, "catch": catch}


def _fail_field(value: Any) -> Any:
    from stepfn.lang.intrinsics import is_intrinsic, parse_intrinsic

    if not isinstance(value, str):
        return None
    return parse_intrinsic(value) if is_intrinsic(value) else compile_path(value)


def _build_state(name: str, raw: Mapping[str, Any], ql: str) -> State:
    kind = raw["Type"]
    base = _base_fields(name, raw, ql)
    if kind == "Pass":
        return PassState(
            **base,
            **_result_fields(raw, ql),
            result=raw.get("Result"),
            has_result="Result" in raw,
            result_bytes=_json_bytes(raw["Result"]) if "Result" in raw else 0,
        )
    if kind == "Task":
        return TaskState(
            **base,
            **_result_fields(raw, ql),
            **_retry_fields(raw, ql),
            resource=raw["Resource"],
            timeout_seconds=raw.get("TimeoutSeconds"),
            timeout_seconds_path=_opt_path(raw, "TimeoutSecondsPath"),
            heartbeat_seconds=raw.get("HeartbeatSeconds"),
            heartbeat_seconds_path=_opt_path(raw, "HeartbeatSecondsPath"),
            credentials=raw.get("Credentials"),
        )
    if kind == "Choice":
        choices = tuple(
            ChoiceRuleModel(
                next=rule["Next"],
                # JSONPath rules are compiled by the interpreter (interp.choice), which
                # owns their semantics; the model keeps the rule as written.
                rule=rule["Condition"] if ql == JSONATA else rule,
                assign=rule.get("Assign"),
                output=rule.get("Output"),
                has_output="Output" in rule,
            )
            for rule in raw["Choices"]
        )
        return ChoiceState(**base, choices=choices, default=raw.get("Default"))
    if kind == "Wait":
        return WaitState(
            **base,
            seconds=raw.get("Seconds"),
            seconds_path=_opt_path(raw, "SecondsPath"),
            timestamp=raw.get("Timestamp"),
            timestamp_path=_opt_path(raw, "TimestampPath"),
        )
    if kind == "Succeed":
        return SucceedState(**base)
    if kind == "Fail":
        return FailState(
            **base,
            error=raw.get("Error"),
            error_path=_fail_field(raw.get("ErrorPath")),
            cause=raw.get("Cause"),
            cause_path=_fail_field(raw.get("CausePath")),
        )
    if kind == "Parallel":
        return ParallelState(
            **base,
            **_result_fields(raw, ql),
            **_retry_fields(raw, ql),
            branches=tuple(build(b, ql) for b in raw["Branches"]),
        )
    if kind == "Map":
        processor_raw = raw.get("ItemProcessor") or raw.get("Iterator")
        assert processor_raw is not None  # validation guarantees it
        config = processor_raw.get("ProcessorConfig") or {}
        selector_key = "ItemSelector" if "ItemSelector" in raw else "Parameters"
        fields = _result_fields(raw, ql)
        fields.pop("parameters", None)  # a Map's Parameters is its legacy ItemSelector
        selector: TemplateNode | None = None
        if ql == JSONPATH and selector_key in raw:
            selector = compile_template(raw[selector_key])
        return MapState(
            **base,
            **fields,
            **_retry_fields(raw, ql),
            processor=build(processor_raw, ql),
            distributed=config.get("Mode") == "DISTRIBUTED",
            execution_type=config.get("ExecutionType") or "STANDARD",
            items_path=_opt_path(raw, "ItemsPath"),
            items=raw.get("Items"),
            has_items="Items" in raw,
            item_selector=selector,
            item_selector_raw=raw.get("ItemSelector"),
            has_item_selector=selector_key in raw,
            max_concurrency=raw.get("MaxConcurrency", 0),
            max_concurrency_path=_opt_path(raw, "MaxConcurrencyPath"),
            tolerated_failure_count=raw.get("ToleratedFailureCount"),
            tolerated_failure_count_path=_opt_path(raw, "ToleratedFailureCountPath"),
            tolerated_failure_percentage=raw.get("ToleratedFailurePercentage"),
            tolerated_failure_percentage_path=_opt_path(raw, "ToleratedFailurePercentagePath"),
            item_reader=raw.get("ItemReader"),
            item_batcher=raw.get("ItemBatcher"),
            result_writer=raw.get("ResultWriter"),
            label=raw.get("Label"),
        )
    raise ValueError(f"unknown state type {kind!r}")  # validation rejects it first
