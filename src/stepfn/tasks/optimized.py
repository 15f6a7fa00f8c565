"""Optimized integrations: ``sqs:sendMessage``, ``sns:publish``, DynamoDB's item actions
and ``events:putEvents``, with the result and error shapes Step Functions gives them.

These differ from the SDK integrations of the same actions:

* SQS, SNS and DynamoDB results carry the HTTP facts of the call, as AWS's Java SDK v1
  reports them: ``SdkHttpMetadata`` (``AllHttpHeaders``, ``HttpHeaders``,
  ``HttpStatusCode``) and ``SdkResponseMetadata`` (``RequestId``);
* errors are named with the v1 SDK's prefixes (``SQS``, ``SNS``, ``DynamoDB``) and their
  causes spelled as v1 spells them: ``"... (Service: AmazonSQS; Status Code: 400; Error
  Code: MissingParameter; Request ID: ...; Proxy: null)"``; an unmodeled error is the
  service's base exception (``SQS.AmazonSQSException``);
* a message body or SNS message given as JSON is sent as its JSON text;
* ``events:putEvents`` fails with ``EventBridge.FailedEntry`` when any entry failed, the
  cause being the whole result; an entry's ``Detail`` given as JSON is sent as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from stepfn.tasks.aws_calls import (
    AwsCallError,
    AwsClients,
    AwsResponse,
    ParameterError,
    exception_name,
    request_params,
    to_json,
)
from stepfn.tasks.base import TaskOutcome, TaskRequest
from stepfn.tasks.credentials import AssumeRoleRefused
from stepfn.tasks.routing import Routing


@dataclass(frozen=True)
class Service:
    """How one service's optimized integration is spelled."""

    botocore: str
    prefix: str  # the error names' prefix
    v1_name: str  # the service in causes
    base_exception: str
    actions: frozenset[str]
    callback: bool  # whether .waitForTaskToken is offered
    http_metadata: bool


SERVICES = {
    "sqs": Service(
        "sqs", "SQS", "AmazonSQS", "AmazonSQSException", frozenset({"sendMessage"}), True, True
    ),
    "sns": Service(
        "sns", "SNS", "AmazonSNS", "AmazonSNSException", frozenset({"publish"}), True, True
    ),
    "dynamodb": Service(
        "dynamodb",
        "DynamoDB",
        "AmazonDynamoDBv2",
        "AmazonDynamoDBException",
        frozenset({"getItem", "putItem", "updateItem", "deleteItem"}),
        False,
        True,
    ),
    "events": Service(
        "events",
        "EventBridge",
        "AmazonEventBridge",
        "AmazonEventBridgeException",
        frozenset({"putEvents"}),
        True,
        False,
    ),
}

RESOURCE = re.compile(
    r"^arn:aws[a-z-]*:states:::(?P<service>[a-z]+):(?P<action>[A-Za-z]+)"
    r"(?P<pattern>\.waitForTaskToken)?$"
)


def parse(resource: str) -> tuple[Service, str] | None:
    """The service and action of an optimized integration's resource, or None."""
    match = RESOURCE.match(resource)
    if match is None:
        return None
    service = SERVICES.get(match["service"])
    if service is None or match["action"] not in service.actions:
        return None
    if match["pattern"] and not service.callback:
        return None
    return service, match["action"]


def v1_error(service: Service, exc: AwsCallError) -> TaskOutcome:
    """A failed call as Step Functions reports it for an optimized integration."""
    if exc.client_side:
        return TaskOutcome.failure(f"{service.prefix}.SdkClientException", exc.message)
    name = exception_name(exc.modeled) if exc.modeled else service.base_exception
    cause = (
        f"{exc.message or 'null'} (Service: {service.v1_name}; Status Code: {exc.status}; "
        f"Error Code: {exc.code}; Request ID: {exc.request_id or 'null'}; Proxy: null)"
    )
    return TaskOutcome.failure(f"{service.prefix}.{name}", cause)


def http_metadata(response: AwsResponse) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` of a response."""
    every: dict[str, list[str]] = {}
    for name, value in response.headers:
        every.setdefault(name, []).append(value)
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": every,
            "HttpHeaders": {name: values[-1] for name, values in every.items()},
            "HttpStatusCode": response.status,
        },
        "SdkResponseMetadata": {"RequestId": response.request_id},
    }


class OptimizedTasks:
    """Runs the optimized SQS, SNS, DynamoDB and EventBridge Tasks with boto3."""

    def __init__(self, routing: Routing | None = None, clients: AwsClients | None = None) -> None:
        self.routing = routing if routing is not None else Routing()
        self.clients = clients if clients is not None else AwsClients(self.routing)

    def handles(self, resource: str) -> bool:
        """Whether ``resource`` is one of the optimized integrations here, routed."""
        parsed = parse(resource)
        return parsed is not None and self.clients.routed(parsed[0].botocore, resource)

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Make the call and report its result or error."""
        parsed = parse(request.resource)
        assert parsed is not None
        service, action = parsed
        model = self.clients.service_model(service.botocore)
        operation = action[:1].upper() + action[1:]
        payload = request.payload
        if service.botocore == "events":
            payload = _details_as_text(payload)
        try:
            params = request_params(model, operation, payload)
        except ParameterError as exc:
            return TaskOutcome.failure("States.Runtime", f"{exc} for {operation}")
        try:
            client = self.clients.for_task(service.botocore, request)
        except AssumeRoleRefused as exc:
            return exc.outcome
        try:
            response = self.clients.call(client, operation, params)
        except AwsCallError as exc:
            return v1_error(service, exc)
        result = to_json(response.result)
        if service.botocore == "events" and result.get("FailedEntryCount"):
            return TaskOutcome.failure(
                "EventBridge.FailedEntry", json.dumps(result, separators=(",", ":"))
            )
        if service.http_metadata:
            result.update(http_metadata(response))
        return TaskOutcome.success(result)


def _details_as_text(payload: Any) -> Any:
    if not isinstance(payload, dict) or not isinstance(payload.get("Entries"), list):
        return payload
    entries = []
    for entry in payload["Entries"]:
        if isinstance(entry, dict) and "Detail" in entry and not isinstance(entry["Detail"], str):
            entry = {**entry, "Detail": json.dumps(entry["Detail"], separators=(",", ":"))}
        entries.append(entry)
    return {**payload, "Entries": entries}
