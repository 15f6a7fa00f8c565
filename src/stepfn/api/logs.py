"""The CloudWatch Logs API on the same server: AWS JSON 1.1, as the ``logs`` SDK clients
speak it, so ``boto3.client("logs", endpoint_url=...)`` and ``aws logs ...
--endpoint-url`` read what executions log.

A request is ``POST /`` with ``X-Amz-Target: Logs_20140328.<Operation>`` and a JSON body
of the operation's members; the answer is ``application/x-amz-json-1.1``, the
operation's output or an error ``{"__type": code, "message": text}``. ``app.py`` sends
requests with this target prefix here (after authentication and JSON parsing, shared
with the Step Functions API); the operations themselves are the Engine's
``logs`` (``logs/service.py``), called with the members as keyword arguments.

Members an operation does not take are ignored rather than refused: tools that manage
log groups send newer members (such as ``deletionProtectionEnabled``) that change
nothing stepfn keeps.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from stepfn.errors import ServiceError

log = logging.getLogger("stepfn.api")

TARGET_PREFIX = "Logs_20140328."
CONTENT_TYPE = "application/x-amz-json-1.1"

# The operations served, by their name in X-Amz-Target.
OPERATIONS = (
    "CreateLogGroup",
    "DeleteLogGroup",
    "DescribeLogGroups",
    "PutRetentionPolicy",
    "DeleteRetentionPolicy",
    "CreateLogStream",
    "DeleteLogStream",
    "DescribeLogStreams",
    "PutLogEvents",
    "GetLogEvents",
    "FilterLogEvents",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "TagLogGroup",
    "UntagLogGroup",
    "ListTagsLogGroup",
)


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


class LogsApi:
    """Dispatches CloudWatch Logs operations to a service object (the Engine's
    ``logs``) whose methods are the operations in snake case."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self._methods: dict[str, tuple[Callable[..., Any], frozenset[str]]] = {}
        for operation in OPERATIONS:
            method = getattr(service, _snake(operation), None)
            if callable(method):
                names = frozenset(inspect.signature(method).parameters)
                self._methods[operation] = (method, names)

    def operations(self) -> list[str]:
        """The operations this server answers."""
        return list(self._methods)

    def call(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one operation: (HTTP status, JSON document), errors included."""
        found = self._methods.get(operation)
        if found is None:
            return 400, {
                "__type": "UnknownOperationException",
                "message": f"stepfn does not serve the CloudWatch Logs operation {operation}",
            }
        method, accepted = found
        try:
            result = method(**{k: v for k, v in params.items() if k in accepted})
        except ServiceError as exc:
            return exc.status, {"__type": exc.code, "message": exc.message}
        except Exception:
            # A bug of ours, never the caller's input: logged with its traceback here,
            # answered without one.
            log.exception("internal error in Logs %s", operation)
            return 500, {
                "__type": "InternalFailure",
                "message": "The request processing has failed because of an unknown error",
            }
        return 200, result if isinstance(result, dict) else {}
