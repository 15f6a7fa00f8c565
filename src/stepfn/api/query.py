"""IAM and STS over the AWS Query protocol, on the Step Functions endpoint.

A request is ``POST /`` with a form-encoded body: ``Action=CreateRole&Version=2010-05-08``
and the members, lists and structures flattened as the SDKs flatten them
(``Tags.member.1.Key=team``). The answer is XML in AWS's shape::

    <CreateRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
      <CreateRoleResult><Role>...</Role></CreateRoleResult>
      <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
    </CreateRoleResponse>

and an error ``<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>
<Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>`` with IAM's
status (404, 409, 400). The operations are the Engine's ``iam`` service
(``service/iam.py``): ``GetCallerIdentity`` is STS's, the rest IAM's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from stepfn.errors import ServiceError

log = logging.getLogger("stepfn.api")

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
XML_CONTENT_TYPE = "text/xml"
IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_PARAMETERS = 1000


def is_query_request(content_type: str | None, target: str | None) -> bool:
    """Whether a POST is a Query-protocol request (form-encoded, no ``X-Amz-Target``)."""
    return not target and (content_type or "").lower().startswith(FORM_CONTENT_TYPE)


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Query parameters as members: ``A.member.2.B=x`` -> ``{"A": [..., {"B": "x"}]}``
    (``member`` lists and ``entry`` maps; order by the index given)."""
    tree: dict[str, Any] = {}
    for key, value in pairs:
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return _lists(tree)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"member"} and isinstance(node["member"], dict):
        items = node["member"]
        if all(k.isdigit() for k in items):
            return [_lists(items[k]) for k in sorted(items, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def _xml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items())
    if isinstance(value, list):
        return "".join(f"<member>{_xml(item)}</member>" for item in value)
    return escape(str(value))


def result_document(action: str, namespace: str, result: dict[str, Any], request_id: str) -> str:
    """An operation's answer as AWS writes it."""
    body = f"<{action}Result>{_xml(result)}</{action}Result>" if result else ""
    return (
        f'<{action}Response xmlns="{namespace}">{body}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )


def error_document(namespace: str, code: str, message: str, request_id: str) -> str:
    """An error as the Query protocol answers it."""
    kind = "Receiver" if code in ("ServiceFailure", "InternalFailure") else "Sender"
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )


class QueryApi:
    """Answers IAM and STS Query requests with the Engine's IAM service.

    Args:
        iam: the service (``service.iam.Iam``): its ``operations`` and ``sts_operations``.
    """

    def __init__(self, iam: Any) -> None:
        self.tables: dict[str, tuple[str, Callable[..., dict[str, Any]]]] = {}
        for name, method in iam.operations.items():
            self.tables[name] = (IAM_NAMESPACE, method)
        for name, method in iam.sts_operations.items():
            self.tables[name] = (STS_NAMESPACE, method)

    def call(self, body: bytes, request_id: str) -> tuple[int, str]:
        """Run one request: (HTTP status, XML text)."""
        namespace = IAM_NAMESPACE
        try:
            try:
                text = body.decode("utf-8")
                pairs = parse_qsl(
                    text,
                    keep_blank_values=True,
                    strict_parsing=False,
                    max_num_fields=MAX_PARAMETERS,
                )
            except (UnicodeDecodeError, ValueError) as exc:
                raise ServiceError("MalformedQueryString", f"The request body: {exc}") from None
            params = unflatten(pairs)
            action = params.pop("Action", None)
            params.pop("Version", None)
            if not isinstance(action, str) or action not in self.tables:
                raise ServiceError(
                    "InvalidAction", f"Could not find operation {action} for version NO_VERSION"
                )
            namespace, method = self.tables[action]
            try:
                result = method(**params)
            except TypeError as exc:
                if "unexpected keyword argument" not in str(exc):
                    raise
                member = str(exc).rsplit(" ", 1)[-1].strip("'")
                raise ServiceError(
                    "InvalidParameterValue", f"{action} does not take the member {member}"
                ) from None
            return 200, result_document(action, namespace, result, request_id)
        except ServiceError as exc:
            return exc.status, error_document(namespace, exc.code, exc.message, request_id)
        except Exception:
            log.exception("internal error in a Query request")
            return 500, error_document(
                namespace, "ServiceFailure", "The request processing has failed", request_id
            )
