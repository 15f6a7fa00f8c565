"""The rules of requests that the service model cannot express, with AWS's codes and texts.

AWS checks a request in two passes, and so do we:

1. The service model's constraints (lengths, ranges, enums, patterns, required members),
   all at once, reported as one ``ValidationException``: that is the one model-driven
   validator, ``validation.requests``, for the HTTP API and the Engine's Python callers.
2. The operation's own rules, each with its own code, here and named: a resource name's
   characters (``check_resource_name``: ``InvalidName``), a definition's problems
   (``invalid_definition``: ``InvalidDefinition``), logging and encryption settings
   across their members (``normalize_logging``: ``InvalidLoggingConfiguration``...),
   tags that need a key (``tag_pairs``), pagination tokens (``page``, ``listing``:
   ``InvalidToken``).

``Constraints`` words model-style violations by hand, for the CloudWatch Logs operations
(``logs/``), whose service model stepfn does not bundle.

The texts here are AWS's where a recorded answer shows them; the others follow the same
style and are marked as ours.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from stepfn.errors import Problem, ServiceError

T = TypeVar("T")

MAX_NAME = 80
MAX_ARN = 256
MAX_DEFINITION = 1_048_576
MAX_DESCRIPTION = 256
MAX_TOKEN = 1024
MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256

MACHINE_TYPES = ("STANDARD", "EXPRESS")
LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
ENCRYPTION_TYPES = ("AWS_OWNED_KEY", "CUSTOMER_MANAGED_KMS_KEY")
DEFAULT_LOGGING: dict[str, Any] = {"level": "OFF", "includeExecutionData": False}
DEFAULT_TRACING: dict[str, Any] = {"enabled": False}
DEFAULT_ENCRYPTION: dict[str, Any] = {"type": "AWS_OWNED_KEY"}

# The characters AWS refuses in state machine and activity names: white space, brackets
# < > { } [ ], wildcards ? *, the specials " # % \ ^ | ~ ` $ & , ; : /, control characters
# (U+0000-001F, U+007F-009F), U+FFFE-FFFF and lone surrogates.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def validation_error(messages: Sequence[str]) -> ServiceError:
    """One ``ValidationException`` for every violated constraint, worded as AWS words it."""
    count = len(messages)
    noun = "error" if count == 1 else "errors"
    return ServiceError(
        "ValidationException", f"{count} validation {noun} detected: " + "; ".join(messages)
    )


def _shown(value: Any) -> str:
    # AWS prints values the way Java prints them: true/false, and list items by fields.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if isinstance(value, dict) and "stateMachineVersionArn" in value:
        return (
            "RoutingConfigurationListItem(stateMachineVersionArn="
            f"{value.get('stateMachineVersionArn')}, weight={_shown(value.get('weight'))})"
        )
    return "null" if value is None else str(value)


class Constraints:
    """Collects violations of the service model's constraints for one request."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def fail(self, value: Any, where: str, constraint: str, *, sensitive: bool = False) -> None:
        """Record that ``value`` at ``where`` violates ``constraint``."""
        if sensitive:  # AWS does not echo sensitive members (definitions, descriptions)
            shown = ""
        elif value is None:
            shown = " null"
        else:
            shown = f" '{_shown(value)}'"
        self.messages.append(
            f"Value{shown} at '{where}' failed to satisfy constraint: {constraint}"
        )

    def required(self, value: Any, where: str) -> bool:
        """A member the model requires; False (and recorded) when it is missing."""
        if value is None:
            self.fail(None, where, "Member must not be null")
            return False
        return True

    def string(
        self,
        value: Any,
        where: str,
        low: int | None = None,
        high: int | None = None,
        *,
        sensitive: bool = False,
    ) -> bool:
        """A string member within ``low..high`` characters (None: not given, fine)."""
        if value is None:
            return False
        if not isinstance(value, str):
            raise serialization_error(where, "a string")
        if low is not None and len(value) < low:
            self.fail(
                value,
                where,
                f"Member must have length greater than or equal to {low}",
                sensitive=sensitive,
            )
            return False
        if high is not None and len(value) > high:
            self.fail(
                value,
                where,
                f"Member must have length less than or equal to {high}",
                sensitive=sensitive,
            )
            return False
        return True

    def integer(self, value: Any, where: str, low: int, high: int) -> bool:
        """An integer member within ``low..high`` (None: not given, fine)."""
        if value is None:
            return False
        if isinstance(value, bool) or not isinstance(value, int):
            raise serialization_error(where, "an integer")
        if value < low:
            self.fail(value, where, f"Member must have value greater than or equal to {low}")
            return False
        if value > high:
            self.fail(value, where, f"Member must have value less than or equal to {high}")
            return False
        return True

    def enum(self, value: Any, where: str, allowed: Sequence[str]) -> bool:
        """A member that must be one of ``allowed`` (None: not given, fine)."""
        if value is None:
            return False
        if not isinstance(value, str):
            raise serialization_error(where, "a string")
        if value not in allowed:
            self.fail(value, where, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
            return False
        return True

    def pattern(self, value: str, where: str, regex: str) -> bool:
        """A string member that must match ``regex`` (AWS quotes the regex as written)."""
        if re.fullmatch(regex, value) is None:
            self.fail(value, where, f"Member must satisfy regular expression pattern: {regex}")
            return False
        return True

    def boolean(self, value: Any, where: str) -> None:
        """A boolean member (None: not given)."""
        if value is not None and not isinstance(value, bool):
            raise serialization_error(where, "a boolean")

    def check(self) -> None:
        """Raise the collected violations, if any."""
        if self.messages:
            raise validation_error(self.messages)


def serialization_error(where: str, expected: str) -> ServiceError:
    """A member of the wrong JSON type. AWS's own text for this is not recorded."""
    return ServiceError("SerializationException", f"Expected {expected} for '{where}'")


def structure(value: Any, where: str) -> dict[str, Any] | None:
    """A structure member as a dict (None when not given)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise serialization_error(where, "an object")
    return value


def sequence(value: Any, where: str) -> list[Any] | None:
    """A list member (None when not given)."""
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise serialization_error(where, "a list")
    return list(value)


# --- names -------------------------------------------------------------------------------


def check_resource_name(name: str) -> None:
    """State machine and activity names: AWS's ``InvalidName`` for a refused character.

    The length (1 to 80) is a model constraint, checked before this as a
    ValidationException.
    """
    if _BAD_NAME.search(name):
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'")


# --- definitions -------------------------------------------------------------------------


def invalid_definition(problems: Iterable[Problem]) -> ServiceError:
    """AWS's ``InvalidDefinition``, every problem as ``CODE: message at location``.

    Example (recorded): ``Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED:
    These fields are required: [States] at /'``. A JSON syntax error already ends with
    its ``at [Source: ...]`` location, so it is not repeated.
    """
    parts = []
    for problem in problems:
        text = f"{problem.code}: {problem.message}"
        if problem.path and not problem.message.endswith(problem.path):
            text += f" at {problem.path}"
        parts.append(text)
    return ServiceError(
        "InvalidDefinition", f"Invalid State Machine Definition: '{', '.join(parts)}'"
    )


# --- configurations ----------------------------------------------------------------------


def normalize_logging(value: dict[str, Any] | None) -> dict[str, Any]:
    """A LoggingConfiguration as AWS stores and describes it.

    Level and flag get their defaults (``OFF``, ``false``); ``destinations`` stays only
    when given, even empty, as AWS describes it. Logging at any level but ``OFF`` needs
    exactly one destination.

    Raises:
        ServiceError: ``InvalidLoggingConfiguration`` with AWS's recorded text.
    """
    if value is None:
        return dict(DEFAULT_LOGGING)
    out: dict[str, Any] = {
        "level": value.get("level") or "OFF",
        "includeExecutionData": bool(value.get("includeExecutionData", False)),
    }
    destinations = value.get("destinations")
    if destinations is not None:
        out["destinations"] = [dict(d) for d in destinations]
    count = len(destinations or [])
    if count > 1 or (out["level"] != "OFF" and count != 1):
        raise ServiceError(
            "InvalidLoggingConfiguration",
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        )
    for destination in destinations or []:
        group = destination.get("cloudWatchLogsLogGroup") or {}
        arn = group.get("logGroupArn")
        if not isinstance(arn, str) or not re.fullmatch(
            r"arn:[^:]+:logs:[^:]*:[^:]*:log-group:.+", arn
        ):
            raise ServiceError(
                "InvalidLoggingConfiguration",
                "Invalid Logging Configuration: Log Destination not found.",
            )
    return out


def normalize_tracing(value: dict[str, Any] | None) -> dict[str, Any]:
    """A TracingConfiguration as AWS describes it (``enabled`` always present)."""
    return {"enabled": bool((value or {}).get("enabled", False))}


def normalize_encryption(value: dict[str, Any] | None) -> dict[str, Any]:
    """An EncryptionConfiguration as described: AWS-owned keys unless told otherwise.

    stepfn encrypts nothing; a customer key is recorded and described, not used.

    Raises:
        ServiceError: ``InvalidEncryptionConfiguration`` for a customer-managed key
            without its id (our wording: AWS's is not recorded).
    """
    if value is None:
        return dict(DEFAULT_ENCRYPTION)
    out: dict[str, Any] = {
        k: value[k] for k in ("kmsKeyId", "kmsDataKeyReusePeriodSeconds", "type") if k in value
    }
    if out["type"] == "CUSTOMER_MANAGED_KMS_KEY":
        if "kmsKeyId" not in out:
            raise ServiceError(
                "InvalidEncryptionConfiguration",
                "Invalid Encryption Configuration: kmsKeyId is required for "
                "CUSTOMER_MANAGED_KMS_KEY",
            )
        out.setdefault("kmsDataKeyReusePeriodSeconds", 300)
    return out


# --- tags --------------------------------------------------------------------------------


def tag_pairs(tags: Sequence[dict[str, Any]] | None, where: str = "tags") -> list[tuple[str, str]]:
    """A TagList (checked against the model already) as (key, value) pairs in the order
    given; a tag without a value has the empty one, as AWS stores it.

    Rule: every tag has a key. The model leaves ``key`` optional; AWS refuses a tag
    without one, as a missing member.

    Raises:
        ServiceError: ``ValidationException`` naming each tag without a key.
    """
    tags = tags or ()
    missing = [
        f"Value null at '{where}.{index}.member.key' failed to satisfy constraint: "
        "Member must not be null"
        for index, tag in enumerate(tags, start=1)
        if tag.get("key") is None
    ]
    if missing:
        raise validation_error(missing)
    return [(str(tag["key"]), str(tag.get("value") or "")) for tag in tags]


# --- pagination ---------------------------------------------------------------------------


def page(
    items: Sequence[T],
    key: Callable[[T], Any],
    *,
    scope: str,
    max_results: int | None,
    next_token: str | None,
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted ascending by ``key``) and the token of the next.

    The token records the key of the last item given and the listing it belongs to
    (``scope``), so a page stays right when items come and go between calls, and a
    token of another listing is refused.

    Raises:
        ServiceError: ``InvalidToken`` (AWS's recorded text) for a token not ours.
    """
    size = max_results or DEFAULT_PAGE
    start = 0
    if next_token is not None:
        after = _read_token(next_token, scope)
        start = len(items)
        for index, item in enumerate(items):
            if _after(key(item), after):
                start = index
                break
    chosen = list(items[start : start + size])
    token = None
    if start + size < len(items):
        token = _write_token(scope, key(chosen[-1]))
    return chosen, token


def listing(
    items: Iterable[T],
    key: Callable[[T], Any],
    member: str,
    shown: Callable[[T], dict[str, Any]],
    *,
    scope: str,
    max_results: int | None,
    next_token: str | None,
) -> dict[str, Any]:
    """A List* answer: ``member`` holding ``shown(item)`` for one page of ``items`` in
    ``key`` order (see ``page``), and ``nextToken`` when more follow."""
    chosen, token = page(
        sorted(items, key=key), key, scope=scope, max_results=max_results, next_token=next_token
    )
    out: dict[str, Any] = {member: [shown(item) for item in chosen]}
    if token:
        out["nextToken"] = token
    return out


def _after(value: Any, mark: Any) -> bool:
    try:
        return bool(value > mark)
    except TypeError:
        return False


def _write_token(scope: str, last: Any) -> str:
    raw = json.dumps({"s": scope, "k": last}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, scope: str) -> Any:
    invalid = ServiceError("InvalidToken", "Invalid Token: 'Invalid token'")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(data, dict) or data.get("s") != scope or "k" not in data:
        raise invalid
    last = data["k"]
    return tuple(last) if isinstance(last, list) else last
