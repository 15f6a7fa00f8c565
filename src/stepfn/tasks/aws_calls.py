"""Calling AWS APIs as Step Functions does: requests shaped by botocore's service models,
results and errors rendered the way Step Functions reports them.

Both kinds of AWS integration use this module: the AWS SDK integrations
(``arn:aws:states:::aws-sdk:SERVICE:ACTION``, ``aws_sdk.py``) and the optimized ones
(``arn:aws:states:::sqs:sendMessage``, ``optimized.py``). They differ only in how they
name errors, because AWS runs them on two generations of its Java SDK:

* SDK integrations (Java SDK v2): ``DynamoDb.ResourceNotFoundException``, cause
  ``"... (Service: DynamoDb, Status Code: 400, Request ID: ...)"``;
* optimized integrations (Java SDK v1): ``DynamoDB.ResourceNotFoundException``, cause
  ``"... (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ...; Request ID: ...;
  Proxy: null)"``.

In both, an error code the service model declares is named after its shape (with
``Exception`` appended when the shape's name lacks it: S3's ``NoSuchBucket`` is
``S3.NoSuchBucketException``), and any other code after the service's base exception
(``DynamoDb.DynamoDbException``, ``SQS.AmazonSQSException``).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from stepfn.tasks.base import TaskRequest
from stepfn.tasks.credentials import STS_RESOURCE, AssumedRoles, RoleCredentials
from stepfn.tasks.routing import Routing

# Step Functions' names of services whose botocore name differs.
SERVICE_ALIASES = {
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "emrcontainers": "emr-containers",
    "emrserverless": "emr-serverless",
    "sagemakerruntime": "sagemaker-runtime",
    "apigatewayv2": "apigatewayv2",
}

_HEADERS_KEY = "_stepfn_http"  # where an after-call hook leaves the raw response


class AwsCallError(Exception):
    """A call the service (or the SDK before it) refused."""

    def __init__(
        self,
        code: str,
        message: str | None,
        status: int | None,
        request_id: str,
        *,
        modeled: str | None,
        host_id: str | None = None,
        client_side: bool = False,
    ) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.modeled = modeled  # the model's error shape name, when it declares the code
        self.host_id = host_id
        self.client_side = client_side


@dataclass
class AwsResponse:
    """A parsed result with the HTTP facts Step Functions' metadata shows."""

    result: dict[str, Any]
    status: int
    headers: list[tuple[str, str]]
    request_id: str


@functools.lru_cache(maxsize=256)
def botocore_service(name: str) -> str:
    """The botocore service name for Step Functions' ``name`` (``sfn`` -> ``stepfunctions``)."""
    import botocore.session

    name = SERVICE_ALIASES.get(name, name)
    available = botocore.session.get_session().get_available_services()
    if name in available:
        return name
    squashed = {service.replace("-", ""): service for service in available}
    found = squashed.get(name.replace("-", ""))
    if found is None:
        raise LookupError(f"no AWS service is named '{name}'")
    return found


def operation_name(service_model: Any, action: str) -> str:
    """The botocore operation for Step Functions' camelCase ``action`` (``getItem``)."""
    names = service_model.operation_names
    wanted = action[:1].upper() + action[1:]
    if wanted in names:
        return str(wanted)
    lowered = {name.lower(): name for name in names}
    found = lowered.get(action.lower())
    if found is None:
        raise LookupError(f"the service has no action '{action}'")
    return str(found)


def sdk_v2_name(service_id: str) -> str:
    """The Java SDK v2 client prefix for a botocore ``serviceId``: ``DynamoDB`` ->
    ``DynamoDb``, ``SQS`` -> ``Sqs``, ``Secrets Manager`` -> ``SecretsManager``."""
    words: list[str] = []
    for part in re.split(r"[\s_-]+", service_id):
        for word in re.findall(r"[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z0-9]+|[0-9]+", part):
            words.append(word[:1].upper() + word[1:].lower())
    return "".join(words)


class AwsClients:
    """boto3 clients by service, region and endpoint, made once and shared by threads."""

    def __init__(self, routing: Routing) -> None:
        self.routing = routing
        # (service, region, endpoint, assumed role's owner or None) -> (access key, client)
        self._clients: dict[tuple[str, str, str | None, Any], tuple[str | None, Any]] = {}
        self._lock = threading.Lock()
        self._session: Any = None
        self._models: dict[str, Any] = {}
        self.roles = AssumedRoles(self._sts, time.time)

    def for_task(self, service: str, request: TaskRequest) -> Any:
        """The client a task's call to ``service`` is made with: routed for its
        resource, signed with its role's credentials when its ``Credentials`` name one.

        Raises:
            AssumeRoleRefused: the role's credentials could not be had.
        """
        info = request.execution
        credentials = None
        if request.role_arn is not None:
            region = self.routing.region_for(STS_RESOURCE, info.region)
            credentials = self.roles.credentials(
                request.role_arn, info.state_machine_arn, info.state_machine_name, region
            )
        return self.client(service, request.resource, info.region, credentials)

    def _sts(self, region: str) -> Any:
        if self.routing.target(STS_RESOURCE, "STS") is None:
            return None
        return self.client("sts", STS_RESOURCE, region)

    def client(
        self,
        service: str,
        resource: str,
        region: str,
        credentials: RoleCredentials | None = None,
    ) -> Any:
        """The client for ``service`` as routed for ``resource`` (signed with
        ``credentials`` when given, else with boto3's usual chain)."""
        import botocore.session
        from botocore.config import Config

        with self._lock:
            if self._session is None:
                self._session = botocore.session.get_session()
            session = self._session
            service_id = self._model(service).service_id
            endpoint = self.routing.endpoint_url(resource, str(service_id))
            region = self.routing.region_for(resource, region)
            owner = credentials.owner if credentials is not None else None
            key = (service, region, endpoint, owner)
            access = credentials.access_key_id if credentials is not None else None
            held = self._clients.get(key)
            # An assumed role's client is made again when its credentials were renewed.
            client = held[1] if held is not None and held[0] == access else None
            if client is None:
                keys = (
                    {
                        "aws_access_key_id": credentials.access_key_id,
                        "aws_secret_access_key": credentials.secret_access_key,
                        "aws_session_token": credentials.session_token,
                    }
                    if credentials is not None
                    else {}
                )
                config = Config(
                    # The service judges the request, as it does for Step Functions.
                    parameter_validation=False,
                    retries={"total_max_attempts": 1},
                    # Step Functions' SDK sends a CRC32 with an upload (AWS's putObject
                    # results show ChecksumCRC32) but asks for no checksum back: its
                    # getObject results carry none, so ChecksumMode is left unset.
                    request_checksum_calculation="when_supported",
                    response_checksum_validation="when_required",
                )
                client = session.create_client(
                    service, region_name=region, endpoint_url=endpoint, config=config, **keys
                )
                client.meta.events.register("after-call", _keep_http_facts)
                self._clients[key] = (access, client)
            return client

    def routed(self, service: str, resource: str) -> bool:
        """Whether the routing sends ``resource``'s calls to ``service`` anywhere."""
        service_id = str(self.service_model(service).service_id)
        return self.routing.target(resource, service_id) is not None

    def service_model(self, service: str) -> Any:
        """botocore's model of ``service``."""
        import botocore.session

        with self._lock:
            if self._session is None:
                self._session = botocore.session.get_session()
            return self._model(service)

    def _model(self, service: str) -> Any:
        model = self._models.get(service)
        if model is None:
            model = self._models[service] = self._session.get_service_model(service)
        return model

    def call(self, client: Any, operation: str, params: dict[str, Any]) -> AwsResponse:
        """Call ``operation``; raise ``AwsCallError`` when it fails."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
        )

        model = client.meta.service_model
        method = getattr(client, _xform(operation))
        try:
            parsed = method(**params)
        except ClientError as exc:
            raise _client_error(model, exc) from None
        except BotoCoreError as exc:
            raise AwsCallError(
                "SdkClientException",
                f"Unable to execute HTTP request: {exc}",
                None,
                "",
                modeled=None,
                client_side=True,
            ) from None
        facts: tuple[int, list[tuple[str, str]]] = parsed.pop(_HEADERS_KEY, None) or (200, [])
        meta = parsed.pop("ResponseMetadata", {}) or {}
        return AwsResponse(parsed, facts[0], facts[1], str(meta.get("RequestId", "")))


def _xform(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


def _keep_http_facts(http_response: Any, parsed: Any, **kwargs: Any) -> None:
    # botocore's parsed result loses the headers' case, which Step Functions shows.
    if isinstance(parsed, dict):
        headers = [(str(name), str(value)) for name, value in http_response.headers.items()]
        parsed[_HEADERS_KEY] = (http_response.status_code, headers)


def _client_error(model: Any, exc: Any) -> AwsCallError:
    response = exc.response or {}
    response.pop(_HEADERS_KEY, None)
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    code = str(error.get("QueryErrorCode") or error.get("Code") or "Unknown")
    return AwsCallError(
        code,
        error.get("Message") or error.get("message"),
        meta.get("HTTPStatusCode"),
        str(meta.get("RequestId", "")),
        modeled=modeled_error(model, code),
        host_id=meta.get("HostId"),
    )


def modeled_error(model: Any, code: str) -> str | None:
    """The name of the error shape that declares ``code``, or None."""
    for shape in model.error_shapes:
        declared = (shape.metadata.get("error") or {}).get("code")
        if code in (shape.name, declared):
            return str(shape.name)
    return None


def exception_name(shape_name: str) -> str:
    """A Java SDK exception class name for an error shape."""
    return shape_name if shape_name.endswith("Exception") else shape_name + "Exception"


# --- requests -----------------------------------------------------------------------------


class ParameterError(ValueError):
    """A parameter whose value the service model's type cannot take."""


def coerce(shape: Any, value: Any, where: str) -> Any:
    """``value`` (JSON) as botocore takes it for ``shape``: JSON values given for string
    members, and any value for a blob member, are sent as JSON text, as Step Functions
    sends them."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ParameterError(f"{where} must be an object")
        out = {}
        for key, item in value.items():
            if item is None:
                continue  # null is an absent member to the SDK
            member = shape.members.get(key)
            out[key] = item if member is None else coerce(member, item, f"{where}.{key}")
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise ParameterError(f"{where} must be a list")
        return [coerce(shape.member, item, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise ParameterError(f"{where} must be an object")
        return {key: coerce(shape.value, item, f"{where}.{key}") for key, item in value.items()}
    if kind == "string":
        return value if isinstance(value, str) else _json_text(value)
    if kind == "blob":
        # Any JSON value, a string too, is sent as its JSON text: on AWS, putObject with
        # "Body": "text data" stores "\"text data\"" (the recorded ETag shows it).
        return _json_text(value).encode("utf-8")
    if kind in ("integer", "long"):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
    return value


def request_params(model: Any, operation: str, payload: Any) -> dict[str, Any]:
    """The keyword arguments of ``operation`` built from a Task's parameters."""
    if payload is None:
        payload = {}
    op = model.operation_model(operation)
    if op.input_shape is None:
        return {}
    params = coerce(op.input_shape, payload, "Parameters")
    return dict(params)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- results -------------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """A botocore result as JSON: timestamps as ISO-8601 text, streamed bodies as their
    text, other blobs as base64."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "read"):  # a streaming body: Step Functions shows its text
        data = value.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(data).decode("ascii")
    return value
