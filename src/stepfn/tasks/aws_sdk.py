"""AWS SDK integrations: ``arn:aws:states:::aws-sdk:SERVICE:ACTION[.waitForTaskToken]``.

Any action of any service botocore models. The Task's parameters are the action's
request, with the members' names as in the API (PascalCase); the result is the API's
response as the service's model names it, without SDK metadata. Errors are named as
Step Functions names them for SDK integrations (see ``aws_calls``):
``S3.NoSuchBucketException``, cause ``"The specified bucket does not exist (Service: S3,
Status Code: 404, Request ID: ..., Extended Request ID: ...)"``.

``.waitForTaskToken`` makes the call; the task then waits for SendTaskSuccess or
SendTaskFailure with the token (which the driver handles).
"""

from __future__ import annotations

import re

from stepfn.tasks.aws_calls import (
    AwsCallError,
    AwsClients,
    ParameterError,
    botocore_service,
    exception_name,
    operation_name,
    request_params,
    sdk_v2_name,
    to_json,
)
from stepfn.tasks.base import TaskOutcome, TaskRequest
from stepfn.tasks.credentials import AssumeRoleRefused
from stepfn.tasks.routing import Routing

RESOURCE = re.compile(
    r"^arn:aws[a-z-]*:states:::aws-sdk:(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)"
    r"(?P<pattern>\.waitForTaskToken)?$"
)


def sdk_error(service_id: str, exc: AwsCallError) -> TaskOutcome:
    """A failed call as Step Functions reports it for an SDK integration."""
    prefix = sdk_v2_name(service_id)
    if exc.client_side:
        return TaskOutcome.failure(f"{prefix}.SdkClientException", exc.message)
    name = exception_name(exc.modeled) if exc.modeled else f"{prefix}Exception"
    cause = (
        f"{exc.message or 'null'} (Service: {prefix}, Status Code: {exc.status}, "
        f"Request ID: {exc.request_id or 'null'}"
    )
    if exc.host_id or prefix == "S3":  # S3's errors always carry one (x-amz-id-2)
        cause += f", Extended Request ID: {exc.host_id or 'null'}"
    return TaskOutcome.failure(f"{prefix}.{name}", cause + ")")


class AwsSdkTasks:
    """Runs ``aws-sdk:*`` Tasks with boto3, routed by ``routing``."""

    def __init__(self, routing: Routing | None = None, clients: AwsClients | None = None) -> None:
        self.routing = routing if routing is not None else Routing()
        self.clients = clients if clients is not None else AwsClients(self.routing)

    def handles(self, resource: str) -> bool:
        """Whether ``resource`` is an SDK integration that the routing sends somewhere
        (one naming an unknown service is taken, to fail saying so)."""
        match = RESOURCE.match(resource)
        if match is None:
            return False
        try:
            service = botocore_service(match["service"])
        except LookupError:
            return True
        return self.clients.routed(service, resource)

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Make the call and report its result or error."""
        match = RESOURCE.match(request.resource)
        assert match is not None
        name, action = match["service"], match["action"]
        try:
            service = botocore_service(name)
            model = self.clients.service_model(service)
            operation = operation_name(model, action)
        except LookupError as exc:
            return TaskOutcome.failure(
                "States.Runtime",
                f"The resource '{request.resource}' is not an AWS SDK integration "
                f"stepfn can call: {exc}.",
            )
        try:
            params = request_params(model, operation, request.payload)
        except ParameterError as exc:
            return TaskOutcome.failure("States.Runtime", f"{exc} for {operation}")
        try:
            client = self.clients.for_task(service, request)
        except AssumeRoleRefused as exc:
            return exc.outcome
        try:
            response = self.clients.call(client, operation, params)
        except AwsCallError as exc:
            return sdk_error(str(model.service_id), exc)
        return TaskOutcome.success(to_json(response.result))
