"""The checks, texts and pagination tokens of the CloudWatch Logs operations
(``service.py``): CloudWatch Logs' constraints and error texts, what a filter
pattern asks for, and the tokens that page through log events.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from stepfn.errors import ServiceError
from stepfn.store.base import LogEventRecord
from stepfn.validation.rules import Constraints, validation_error

GROUP_PATTERN = r"[\.\-_/#A-Za-z0-9]+"
STREAM_PATTERN = r"[^:*]*"
IDENTIFIER_PATTERN = r"[\w#+=/:,.@-]*"
MAX_NAME = 512
MAX_EVENTS = 10_000  # FilterLogEvents and GetLogEvents, per page
MAX_DESCRIBED = 50  # DescribeLogGroups and DescribeLogStreams, per page
MAX_TAGS = 50
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
    2557, 2922, 3288, 3653,
)  # fmt: skip
GROUP_CLASSES = ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY")
ORDERS = ("LogStreamName", "LastEventTime")

# AWS's texts.
GROUP_MISSING = "The specified log group does not exist."
STREAM_MISSING = "The specified log stream does not exist."
GROUP_EXISTS = "The specified log group already exists"
STREAM_EXISTS = "The specified log stream already exists"
NAME_AND_ARN = "LogGroup name and LogGroup ARN are mutually exclusive parameters."
BAD_TOKEN = "The specified nextToken is invalid."

# A quoted phrase ("...", with \" and \\ inside) or a run of non-blank characters.
_TERM = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


def invalid(message: str) -> ServiceError:
    """CloudWatch Logs' error for a request it will not take."""
    return ServiceError("InvalidParameterException", message)


def not_found(message: str) -> ServiceError:
    """CloudWatch Logs' error for a group or stream that is not there."""
    return ServiceError("ResourceNotFoundException", message)


def filter_terms(pattern: str | None) -> list[str]:
    """The texts a filter pattern asks every matched message to contain.

    Raises:
        ServiceError: ``InvalidParameterException`` for a JSON or space-delimited
            pattern, which stepfn does not evaluate.
    """
    text = (pattern or "").strip()
    if not text:
        return []
    if text[0] in "{[":
        raise invalid(
            "stepfn matches filter patterns as plain text (terms and quoted phrases); "
            "JSON ({ $.field = value }) and space-delimited ([...]) patterns are not "
            "supported"
        )
    terms = []
    for match in _TERM.finditer(text):
        quoted, word = match.groups()
        terms.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else word)
    return [term for term in terms if term]


def check(c: Constraints) -> None:
    """Raise the model's constraints that ``c`` found violated, worded as the Step
    Functions checks word them, as CloudWatch Logs answers them:
    ``InvalidParameterException``."""
    if c.messages:
        raise invalid(validation_error(c.messages).message)


def check_name(c: Constraints, value: Any, where: str, pattern: str, required: bool = True) -> None:
    """A group or stream name member: 1 to 512 characters matching ``pattern``."""
    if value is None:
        if required:
            c.required(value, where)
        return
    if c.string(value, where, 1, MAX_NAME) and isinstance(value, str):
        c.pattern(value, where, pattern)


def check_page(c: Constraints, limit: Any, token: Any, high: int) -> None:
    """The ``limit`` (1 to ``high``) and ``nextToken`` members of a paged operation."""
    c.integer(limit, "limit", 1, high)
    c.string(token, "nextToken", 1, None)


def encode_token(data: dict[str, Any]) -> str:
    """An opaque pagination token holding ``data`` (integers)."""
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_token(token: str | None, *keys: str) -> dict[str, int] | None:
    """A token of ours with integer ``keys``; InvalidParameterException otherwise."""
    if token is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeError):
        raise invalid(BAD_TOKEN) from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in keys):
        raise invalid(BAD_TOKEN)
    return {k: int(data[k]) for k in keys}


def position(event: LogEventRecord) -> tuple[int, int]:
    """Where an event is in its group's order: (timestamp, id), what tokens name."""
    return (event.timestamp, event.id)


# GetLogEvents' tokens look like AWS's: "f/" or "b/" and digits (here the position's
# timestamp and id, 19 digits each).
STREAM_TOKEN = re.compile(r"([fb])/(\d{19})(\d{19})")
START = (0, 0)  # before every event


def stream_token(direction: str, at: tuple[int, int]) -> str:
    """A GetLogEvents token: ``f`` (forward: after the position ``at``) or ``b``
    (backward: before it)."""
    return f"{direction}/{at[0]:019d}{at[1]:019d}"


def parse_stream_token(token: str | None) -> tuple[str, tuple[int, int]] | None:
    """A GetLogEvents token as (direction, position); InvalidParameterException when it
    is not one of ours."""
    if token is None:
        return None
    match = STREAM_TOKEN.fullmatch(token)
    if match is None:
        raise invalid(BAD_TOKEN)
    return match[1], (int(match[2]), int(match[3]))
