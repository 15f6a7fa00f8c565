"""Checks of one state: its fields (per type and query language), their values, Retry/Catch.

Which fields a state may have depends on its type and on its query language. The table
below is the union of both languages; ``validate_fields.JSONPATH_ONLY`` and
``JSONATA_ONLY`` then take out what the state's language does not have. A field outside
the table is ``Field 'X' is not supported``; a field of the other language gets AWS's
QueryLanguage message instead, e.g.
``The QueryLanguage is set to 'JSONata', but field 'Parameters' is only supported for the
'JSONPath' QueryLanguage``. The values of refused fields are not checked further: one
problem per mistake. The Map state has its own module, ``validate_map``.

Transitions (``Next``, ``Default``, a catcher's ``Next``) are checked for shape here and
for their target in ``validate``, which sees the whole ``States`` object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stepfn.definition.validate_choice import check_choice_state
from stepfn.definition.validate_context import (
    BAD_TIMESTAMP,
    DOWNGRADE,
    DUPLICATE_STATE,
    EXPRESS,
    INVALID_STATE_NAME,
    JSONATA,
    JSONPATH,
    MAX_RETRY_DELAY,
    MAX_SECONDS,
    MAX_STATE_NAME,
    STATE_TYPES,
    TYPE_VALUES,
    Context,
    StateInfo,
    at,
    exactly_one,
    expect,
    expected_type,
    is_int,
    is_jsonata,
    is_timestamp,
    join,
    one_of,
    only_one,
    required,
)
from stepfn.definition.validate_fields import (
    array,
    enum,
    exclusive,
    integer,
    number,
    objects,
    require_fields,
    text,
    usable_fields,
)
from stepfn.definition.validate_map import check_map
from stepfn.definition.validate_payload import (
    check_assign,
    check_jsonata,
    check_jsonata_value,
    check_path,
    check_static_result,
    check_template,
    check_value,
)

COMMON_FIELDS = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = ("Next", "End")
_DATA = ("InputPath", "OutputPath", "Output")
_RESULT = ("Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign")

STATE_FIELDS: dict[str, frozenset[str]] = {
    "Pass": frozenset({*_FLOW, *_DATA, "Parameters", "Result", "ResultPath", "Assign"}),
    "Task": frozenset(
        {*_FLOW, *_DATA, *_RESULT, "Arguments", "Resource", "Credentials"}
        | {"TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"}
    ),
    "Wait": frozenset(
        {*_FLOW, *_DATA, "Assign", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"}
    ),
    "Choice": frozenset({*_DATA, "Assign", "Choices", "Default"}),
    "Succeed": frozenset(_DATA),
    "Fail": frozenset({"Error", "ErrorPath", "Cause", "CausePath"}),
    "Parallel": frozenset({*_FLOW, *_DATA, *_RESULT, "Arguments", "Branches"}),
    "Map": frozenset(
        {*_FLOW, *_DATA, *_RESULT, "ItemProcessor", "Iterator", "ItemsPath", "Items"}
        | {"ItemSelector", "ItemReader", "ItemBatcher", "ResultWriter", "Label"}
        | {"MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailurePercentage"}
        | {"ToleratedFailurePercentagePath", "ToleratedFailureCount", "ToleratedFailureCountPath"}
    ),
}

_RETRIER_FIELDS = frozenset(
    {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds"}
    | {"JitterStrategy", "Comment"}
)
_CATCHER_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Output", "Assign", "Comment"})
_ALL_ERRORS = "States.ALL"
_ALL_ALONE = "States.ALL must appear alone and at end of list"

_WAIT_JSONPATH = ("SecondsPath", "Seconds", "TimestampPath", "Timestamp")
_WAIT_JSONATA = ("Seconds", "Timestamp")

# A Task's Resource is an ARN; "${...}" is a placeholder a deployment tool fills in.
_ARN = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+")
_ACTIVITY_ARN = re.compile(r"^arn:[^:]+:states:[^:]*:[^:]*:activity:")

# --- one state ---------------------------------------------------------------------------


def check_state(ctx: Context, name: str, state: Any, path: str) -> None:
    """Every check of the state ``name`` located at ``path``."""
    name = str(name)  # a mapping built in Python might use other keys than JSON's strings
    if len(name) > MAX_STATE_NAME:
        ctx.report(
            path,
            f"State name '{name}' is longer than {MAX_STATE_NAME} characters",
            INVALID_STATE_NAME,
        )
    if name in ctx.state_paths:
        ctx.report(path, f"Duplicate State name: {name}", DUPLICATE_STATE)
    else:
        ctx.state_paths[name] = path
    if not isinstance(state, Mapping):
        ctx.report(path, expected_type("Object"))
        return
    if "Type" not in state:
        ctx.report(path, required(["Type"]))
        return
    kind = state["Type"]
    if kind not in STATE_TYPES:
        ctx.report(join(path, "Type"), TYPE_VALUES)
        return
    info = StateInfo(name, path, kind, _language(ctx, state, path), state)
    fields = usable_fields(ctx, state, path, COMMON_FIELDS | STATE_FIELDS[kind], info.language)
    if "Comment" in fields:
        expect(ctx, state["Comment"], "String", join(path, "Comment"))
    if kind not in ("Choice", "Succeed", "Fail"):
        _check_flow(ctx, info)
    _check_data(ctx, info, fields)
    _CHECKS[kind](ctx, info, fields)


def _language(ctx: Context, state: Mapping[str, Any], path: str) -> str:
    """The state's query language: its own QueryLanguage, else the machine's."""
    if "QueryLanguage" not in state:
        return ctx.top_language
    value = state["QueryLanguage"]
    here = join(path, "QueryLanguage")
    if expect(ctx, value, "String", here) and value not in (JSONPATH, JSONATA):
        ctx.report(here, one_of([JSONPATH, JSONATA]))
    # AWS reads anything but the exact word JSONPath as JSONata.
    language = JSONPATH if value == JSONPATH else JSONATA
    if language == JSONPATH and ctx.top_language == JSONATA:
        ctx.report(path, DOWNGRADE)
    return language


def _check_flow(ctx: Context, info: StateInfo) -> None:
    """A state that is not Choice, Succeed or Fail ends (``End: true``) or moves on (``Next``)."""
    body = info.body
    if "End" in body:
        expect(ctx, body["End"], "Boolean", join(info.path, "End"))
    if "Next" in body:
        expect(ctx, body["Next"], "String", join(info.path, "Next"))
    ends = body.get("End") is True
    if ends and "Next" in body:
        ctx.report(info.path, only_one(_FLOW))
    elif not ends and "Next" not in body:
        ctx.report(info.path, exactly_one(_FLOW))


def _check_data(ctx: Context, info: StateInfo, fields: set[str]) -> None:
    """The input/output fields any state type may have."""
    body, path = info.body, info.path
    for name in ("InputPath", "OutputPath"):
        if name in fields:
            check_path(ctx, body[name], join(path, name), name, nullable=True)
    if "ResultPath" in fields:
        _check_result_path(ctx, body["ResultPath"], join(path, "ResultPath"))
    for name in ("Parameters", "ResultSelector"):
        if name in fields:
            check_template(ctx, body[name], join(path, name))
    for name in ("Arguments", "Output"):
        if name in fields:
            check_jsonata_value(ctx, body[name], join(path, name))
    if "Assign" in fields:
        check_assign(ctx, body["Assign"], join(path, "Assign"), info.jsonata)
    if "Retry" in fields:
        _check_retry(ctx, info, body["Retry"], join(path, "Retry"))
    if "Catch" in fields:
        _check_catch(ctx, info, body["Catch"], join(path, "Catch"))


def _check_result_path(ctx: Context, value: Any, path: str) -> None:
    """A ResultPath, of a state or a catcher: a reference path, or null to drop the result."""
    check_path(ctx, value, path, "ResultPath", reference=True, nullable=True)


# --- Retry and Catch ---------------------------------------------------------------------


def _check_error_equals(ctx: Context, entry: Mapping[str, Any], path: str, last: bool) -> None:
    here = join(path, "ErrorEquals")
    names = entry["ErrorEquals"]
    if not array(ctx, names, here, empty=False):
        return
    for i, name in enumerate(names):
        expect(ctx, name, "String", at(here, i))
    if _ALL_ERRORS in names and (len(names) > 1 or not last):
        ctx.report(here, _ALL_ALONE)


def _check_retry(ctx: Context, info: StateInfo, retriers: Any, path: str) -> None:
    for i, here, retrier in objects(ctx, retriers, path):
        fields = usable_fields(ctx, retrier, here, _RETRIER_FIELDS, info.language)
        if require_fields(ctx, retrier, here, ["ErrorEquals"]):
            _check_error_equals(ctx, retrier, here, last=i == len(retriers) - 1)
        # AWS accepts an IntervalSeconds of 0 (measured), though the spec asks for >= 1.
        limits = {"IntervalSeconds": (0, MAX_SECONDS), "MaxAttempts": (0, MAX_SECONDS)}
        limits["MaxDelaySeconds"] = (1, MAX_RETRY_DELAY)
        for name, (low, high) in limits.items():
            if name in fields:
                integer(ctx, retrier[name], join(here, name), info.jsonata, low, high)
        if "BackoffRate" in fields:
            number(
                ctx,
                retrier["BackoffRate"],
                join(here, "BackoffRate"),
                info.jsonata,
                1.0,
                MAX_SECONDS,
            )
        if "JitterStrategy" in fields:
            enum(ctx, retrier["JitterStrategy"], join(here, "JitterStrategy"), ("FULL", "NONE"))
        if "Comment" in fields:
            expect(ctx, retrier["Comment"], "String", join(here, "Comment"))


def _check_catch(ctx: Context, info: StateInfo, catchers: Any, path: str) -> None:
    for i, here, catcher in objects(ctx, catchers, path):
        fields = usable_fields(ctx, catcher, here, _CATCHER_FIELDS, info.language)
        require_fields(ctx, catcher, here, ["ErrorEquals", "Next"])
        if "ErrorEquals" in catcher:
            _check_error_equals(ctx, catcher, here, last=i == len(catchers) - 1)
        if "Next" in catcher:
            expect(ctx, catcher["Next"], "String", join(here, "Next"))
        if "ResultPath" in fields:
            _check_result_path(ctx, catcher["ResultPath"], join(here, "ResultPath"))
        if "Output" in fields:
            check_jsonata_value(ctx, catcher["Output"], join(here, "Output"))
        if "Assign" in fields:
            check_assign(ctx, catcher["Assign"], join(here, "Assign"), info.jsonata)
        if "Comment" in fields:
            expect(ctx, catcher["Comment"], "String", join(here, "Comment"))


# --- per type ----------------------------------------------------------------------------


def _check_pass(ctx: Context, info: StateInfo, fields: set[str]) -> None:
    if "Result" in fields:
        check_static_result(ctx, info.body["Result"], join(info.path, "Result"))


def _check_task(ctx: Context, info: StateInfo, fields: set[str]) -> None:
    body, path = info.body, info.path
    if require_fields(ctx, body, path, ["Resource"]):
        _check_resource(ctx, body["Resource"], join(path, "Resource"))
    if "Credentials" in fields:
        _check_credentials(ctx, info, body["Credentials"], join(path, "Credentials"))
    exclusive(ctx, fields, path, ("TimeoutSeconds", "TimeoutSecondsPath"))
    exclusive(ctx, fields, path, ("HeartbeatSeconds", "HeartbeatSecondsPath"))
    for name in ("TimeoutSeconds", "HeartbeatSeconds"):
        if name in fields:
            integer(ctx, body[name], join(path, name), info.jsonata, 1, MAX_SECONDS)
    for name in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
        if name in fields:
            check_path(ctx, body[name], join(path, name), name)
    timeout, heartbeat = body.get("TimeoutSeconds"), body.get("HeartbeatSeconds")
    if is_int(timeout) and is_int(heartbeat) and heartbeat >= timeout:
        ctx.report(
            join(path, "HeartbeatSeconds"),
            "The value of HeartbeatSeconds must be smaller than the value of TimeoutSeconds",
        )


def _check_resource(ctx: Context, resource: Any, path: str) -> None:
    if not expect(ctx, resource, "String", path) or "${" in resource:
        return
    if not _ARN.match(resource):
        ctx.report(path, "Value is not a valid resource ARN")
        return
    if ctx.machine_type == EXPRESS:
        # The text is AWS's, trailing blank included for '.waitForTaskToken'.
        if resource.endswith((".sync", ".sync:2")):
            ctx.report(path, "Express state machine does not support '.sync' service integration")
        elif resource.endswith(".waitForTaskToken"):
            ctx.report(
                path,
                "Express state machine does not support '.waitForTaskToken' service integration ",
            )
        elif _ACTIVITY_ARN.match(resource):
            ctx.report(path, "Express state machine does not support Activity ARN")


def _check_credentials(ctx: Context, info: StateInfo, credentials: Any, path: str) -> None:
    if not expect(ctx, credentials, "Object", path):
        return
    allowed = ("RoleArn",) if info.jsonata else ("RoleArn", "RoleArn.$")
    fields = usable_fields(ctx, credentials, path, allowed, info.language)
    if not fields & {"RoleArn", "RoleArn.$"}:
        ctx.report(path, required(["RoleArn"]))
    exclusive(ctx, fields, path, ("RoleArn", "RoleArn.$"))
    check_value(ctx, {name: credentials[name] for name in fields}, path, info.jsonata)
    if "RoleArn" in fields and not is_jsonata(credentials["RoleArn"]):
        expect(ctx, credentials["RoleArn"], "String", join(path, "RoleArn"))


def _check_wait(ctx: Context, info: StateInfo, fields: set[str]) -> None:
    body, path = info.body, info.path
    options = _WAIT_JSONATA if info.jsonata else _WAIT_JSONPATH
    given = [name for name in options if name in fields]
    if len(given) > 1:
        ctx.report(path, only_one(options))
    elif not given and not any(name in body for name in _WAIT_JSONPATH):
        ctx.report(path, exactly_one(options))
    if "Seconds" in fields:
        integer(ctx, body["Seconds"], join(path, "Seconds"), info.jsonata, 0, MAX_SECONDS)
    if "Timestamp" in fields:
        value, here = body["Timestamp"], join(path, "Timestamp")
        if info.jsonata and is_jsonata(value):
            check_jsonata(ctx, value, here)
        elif expect(ctx, value, "String", here) and not is_timestamp(value):
            ctx.report(here, BAD_TIMESTAMP)
    for name in ("SecondsPath", "TimestampPath"):
        if name in fields:
            check_path(ctx, body[name], join(path, name), name)


def _check_succeed(ctx: Context, info: StateInfo, fields: set[str]) -> None:
    """Nothing beyond the input/output fields every state has."""


def _check_fail(ctx: Context, info: StateInfo, fields: set[str]) -> None:
    body, path = info.body, info.path
    exclusive(ctx, fields, path, ("Error", "ErrorPath"))
    exclusive(ctx, fields, path, ("Cause", "CausePath"))
    for name in ("Error", "Cause"):
        if name in fields:
            text(ctx, body[name], join(path, name), info.jsonata)
    for name in ("ErrorPath", "CausePath"):
        if name in fields:
            check_path(ctx, body[name], join(path, name), name, intrinsic=True)


def _check_parallel(ctx: Context, info: StateInfo, fields: set[str]) -> None:
    body, path = info.body, info.path
    if not require_fields(ctx, body, path, ["Branches"]):
        return
    here = join(path, "Branches")
    branches = body["Branches"]
    if not array(ctx, branches, here, empty=False):
        return
    for i, branch in enumerate(branches):
        ctx.check_machine(ctx, branch, at(here, i), frozenset({"StartAt", "States", "Comment"}))


_CHECKS = {
    "Pass": _check_pass,
    "Task": _check_task,
    "Wait": _check_wait,
    "Choice": lambda ctx, info, fields: check_choice_state(ctx, info),
    "Succeed": _check_succeed,
    "Fail": _check_fail,
    "Parallel": _check_parallel,
    "Map": check_map,
}
