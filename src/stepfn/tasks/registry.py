"""The adapters ``stepfn.run`` and the Engine use unless given their own registry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stepfn.clock import Clock
from stepfn.tasks.aws_calls import AwsClients
from stepfn.tasks.aws_sdk import AwsSdkTasks
from stepfn.tasks.base import Registry, TaskOutcome, TaskRequest
from stepfn.tasks.http_invoke import ApiGatewayTasks, HttpTasks
from stepfn.tasks.lambda_local import Handler, LocalLambda
from stepfn.tasks.optimized import OptimizedTasks
from stepfn.tasks.routing import ROUTING_DOCS, Routing
from stepfn.tasks.s3_items import S3Items

RoutingConfig = Routing | Mapping[str, Any] | str | Path | None


class RoutedStandIns:
    """The adapters that routes name (``{"resource": ..., "adapter": obj}``): asked first."""

    def __init__(self, routing: Routing) -> None:
        self.routing = routing

    def handles(self, resource: str) -> bool:
        """Whether a route sends ``resource`` to a stand-in adapter."""
        return self.routing.adapter_for(resource) is not None

    def start(self, request: TaskRequest, done: Any) -> Any:
        """Start the task on the routed adapter (blocking ones run through a Registry)."""
        return Registry([self.routing.adapter_for(request.resource)]).start(request, done)

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Run the task on the routed adapter."""
        return Registry([self.routing.adapter_for(request.resource)]).invoke(request)


class Unrouted:
    """The last adapter: fails a Task no other adapter runs, saying how to route it."""

    def handles(self, resource: str) -> bool:
        """Every resource (it is asked last) but callbacks: an unrouted
        ``.waitForTaskToken`` Task waits for SendTaskSuccess/Failure from outside."""
        return not resource.endswith(".waitForTaskToken")

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Fail the task with a cause that says how to route it."""
        return TaskOutcome.failure(
            "States.TaskFailed",
            f"No route runs the resource '{request.resource}'. Add a route for it (a "
            "'routes' entry with an endpoint_url or a stand-in adapter), or a local "
            f"function for a Lambda resource; see {ROUTING_DOCS}.",
        )


def default_registry(
    functions: Mapping[str, Handler] | None = None,
    routing: RoutingConfig = None,
    *,
    clock: Clock | None = None,
) -> Registry:
    """Local Lambda functions, routed stand-ins, AWS integrations and HTTP Tasks.

    ``routing`` is a ``Routing``, a dict or the path of a JSON/YAML file (see
    ``stepfn.tasks.routing``); by default calls go where the AWS SDKs send them.
    """
    routes = Routing.load(routing)
    clients = AwsClients(routes)
    return Registry(
        [
            RoutedStandIns(routes),
            LocalLambda(functions or {}, clock=clock),
            OptimizedTasks(routes, clients),
            S3Items(routes, clients),
            AwsSdkTasks(routes, clients),
            HttpTasks(routes),
            ApiGatewayTasks(routes),
            Unrouted(),
        ]
    )
