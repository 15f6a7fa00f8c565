"""The execution operations' rules that the service model cannot express, with AWS's texts.

The members' model constraints (lengths, enums, ranges, required) are checked before
any of this by the one validator (``stepfn.validation.requests``), for the HTTP API and
for the Engine's Python callers alike. Here: the characters of execution names,
execution input parsed as AWS's parser words its complaints (and its size in UTF-8
bytes, which the model counts in characters), pagination tokens, and the rules of
redrive. ``executions.py`` and ``tokens.py`` use them.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
from datetime import UTC, datetime
from typing import Any

from stepfn.errors import ServiceError
from stepfn.interp.machine import MAX_HISTORY_EVENTS
from stepfn.lang.nesting import depth_problem, text_too_deep
from stepfn.store.base import ExecutionRecord
from stepfn.validation.rules import check_resource_name, validation_error

MAX_INPUT_BYTES = 262_144
MAX_ARN = 256
MAX_TASK_TOKEN = 2048
MAX_ERROR = 256
MAX_CAUSE = 32_768
MAX_HISTORY_TOKEN = 1024
MAX_LIST_TOKEN = 3096
REDRIVE_DAYS = 14
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
# The statuses as AWS lists them in its message (a recorded answer).
STATUS_ENUM = ("SUCCEEDED", "TIMED_OUT", "PENDING_REDRIVE", "ABORTED", "FAILED", "RUNNING")
INCLUDED_DATA = ("ALL_DATA", "METADATA_ONLY")
REDRIVE_FILTERS = ("REDRIVEN", "NOT_REDRIVEN")
REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")
_ANY_VALUE = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
# Two redrives of one execution must not both pass the check before either commits.
REDRIVE_LOCK = threading.Lock()


def when(seconds: float | None) -> datetime | None:
    """Epoch seconds as boto3 shows times: an aware datetime."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def check_name(name: str) -> None:
    """Rule: an execution name has none of the characters AWS refuses in names (the
    control plane's rule, shared by every resource name). Its length is the model's."""
    check_resource_name(name)


def refuse_constant(name: str) -> Any:
    raise ValueError(
        f"Non-standard token '{name}': enable JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS to allow"
    )


def finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: JSON, but no number any reader can keep
        raise ValueError(f"Numeric value ({text}) out of range of double")
    return value


def input_problem(text: str, exc: json.JSONDecodeError) -> str:
    """Why execution input is not JSON, in the words of AWS's parser (Jackson).

    Recorded answers: "not json" gives ``Unrecognized token 'not': was expecting (JSON
    String, Number, Array, Object or token 'null', 'true' or 'false')``, a single-quoted
    key gives ``Unexpected character (''' (code 39)): was expecting double-quote to start
    field name``, and empty input ``Invalid execution input.``.
    """
    if not text.strip():
        return "Invalid execution input."
    ch = text[exc.pos] if exc.pos < len(text) else ""
    if exc.msg == "Expecting value" and ch:
        token = re.match(r"[A-Za-z0-9_$]+", text[exc.pos :])
        if token is not None:
            return f"Unrecognized token '{token.group()}': was expecting {_ANY_VALUE}"
        return (
            f"Unexpected character ('{ch}' (code {ord(ch)})): expected a valid value {_ANY_VALUE}"
        )
    if exc.msg.startswith("Expecting property name") and ch:
        return (
            f"Unexpected character ('{ch}' (code {ord(ch)})): was expecting double-quote "
            "to start field name"
        )
    return "Invalid execution input."


def parse_input(text: str | None) -> Any:
    """Execution input text -> JSON value, with AWS's errors."""
    if text is None:
        return {}
    if len(text.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
        raise validation_error(
            [
                "Value at 'input' failed to satisfy constraint: Member must have length "
                f"less than or equal to {MAX_INPUT_BYTES}"
            ]
        )
    if text_too_deep(text):
        raise ServiceError(
            "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{depth_problem()}'"
        )
    try:
        return json.loads(text, parse_constant=refuse_constant, parse_float=finite_float)
    except json.JSONDecodeError as exc:
        problem = input_problem(text, exc)
    except ValueError as exc:
        problem = str(exc)
    except RecursionError:
        problem = "Invalid execution input."
    raise ServiceError(
        "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{problem}'"
    )


def encode_token(position: int) -> str:
    """An opaque pagination token."""
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode()


def decode_token(token: str | None) -> int:
    """The position in an opaque pagination token; InvalidToken when it is not ours."""
    if token is None:
        return 0
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))["p"]
    except (ValueError, KeyError, TypeError):
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'") from None
    if not isinstance(position, int) or position < 0:
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'")
    return position


def page_size(max_results: int | None, default: int = 100) -> int:
    """``maxResults`` (already checked: 0..1000) as a page size; 0 means the default."""
    return max_results or default


def not_redrivable(record: ExecutionRecord, now: float) -> str | None:
    """Why an execution cannot be redriven, or None when it can. The text for a running
    or succeeded execution is AWS's (recorded); the others are ours."""
    if record.status not in REDRIVABLE:
        return f"Execution is {record.status} and cannot be redriven"
    if record.type != "STANDARD":
        return "Only Standard executions can be redriven"
    if record.stop_date is not None and now - record.stop_date > REDRIVE_DAYS * 86400:
        return f"Execution stopped more than {REDRIVE_DAYS} days ago and cannot be redriven"
    if record.next_event_id >= MAX_HISTORY_EVENTS:
        return (
            f"Execution has reached the maximum number of history events "
            f"({MAX_HISTORY_EVENTS}) and cannot be redriven"
        )
    if record.map_run_arn:
        return "A child execution of a Map Run is redriven by redriving its parent execution"
    if not record.run_state:
        return "Execution has no run state to go on from and cannot be redriven"
    return None
