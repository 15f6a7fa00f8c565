"""IAM enforced on tasks: a state machine's role may invoke only what its policies allow.

``IamEnforced`` wraps the Engine's task registry. Before a task reaches its adapter, the
execution's role is looked up in IAM (``Iam.role_documents``): a role IAM does not know
is not checked (state machines made with any role ARN keep working, as in Step Functions
Local); a known role's policies are evaluated as IAM evaluates identity policies: an
explicit ``Deny`` wins, otherwise some ``Allow`` must match the action and the resource
(``*`` and ``?`` wildcards; actions compared without case). Conditions are not
evaluated: a statement with a ``Condition`` is taken as not matching, so that it never
allows more than AWS would.

Every Task is checked for what AWS requires of its role (``needs``):

* Lambda (function ARNs and ``lambda:invoke``): ``lambda:InvokeFunction`` on the
  function; refused as ``Lambda.AWSLambdaException``, an ``AccessDeniedException`` cause
  naming the role, the action and the resource;
* the optimized integrations: ``sqs:SendMessage`` on the queue, ``sns:Publish`` on the
  topic, ``dynamodb:GetItem`` (``PutItem``, ...) on the table, ``events:PutEvents`` on
  each event bus; refused as the integration reports the service's own AccessDenied
  (``SQS.AmazonSQSException``, ``SNS.AuthorizationErrorException``,
  ``DynamoDB.AmazonDynamoDBException``, ...);
* nested executions (``states:startExecution``): ``states:StartExecution`` on the state
  machine; with ``.sync``/``.sync:2`` also ``states:DescribeExecution`` and
  ``states:StopExecution`` on its executions and ``events:PutTargets``, ``PutRule`` and
  ``DescribeRule`` on the managed rule, as AWS's documentation lists them;
  ``StepFunctions.AWSStepFunctionsException``;
* AWS SDK integrations (``aws-sdk:SERVICE:ACTION``): ``prefix:Action`` (IAM's service
  prefix: ``sfn`` is ``states``) on the resource the parameters name plainly (a bucket or
  object, a table, a queue, a topic, a function, a state machine or execution, a secret
  ARN); where only the service knows the resource, on the action alone (some Allow of
  it, and no Deny of it on ``*``), so as never to refuse what AWS would allow; refused as
  the SDK integration reports AccessDenied (``S3.S3Exception`` "Access Denied",
  ``DynamoDb.DynamoDbException``, ...);
* activities need nothing of the role: their workers call GetActivityTask with their
  own credentials. The HTTP Task's permissions (``states:InvokeHTTPEndpoint``, the
  connection's credentials) are not checked yet.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from stepfn.interp.context import ExecutionInfo
from stepfn.service.iam import Iam
from stepfn.tasks import aws_sdk, optimized
from stepfn.tasks.aws_calls import AwsCallError, botocore_service
from stepfn.tasks.base import (
    Registry,
    TaskOutcome,
    TaskRequest,
)
from stepfn.tasks.intercept import Intercepting
from stepfn.tasks.lambda_local import function_name, lambda_failure, task_target

INVOKE_FUNCTION = "lambda:InvokeFunction"


def wildcard_match(pattern: str, value: str) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; linear time (the greedy
    two-pointer walk, backing up only to the last ``*``)."""
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] == "*":
            star, mark = p, v
            p += 1
        elif p < len(pattern) and pattern[p] in ("?", value[v]):
            p, v = p + 1, v + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            v = mark
        else:
            return False
    return all(c == "*" for c in pattern[p:])


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _matches(patterns: list[str], value: str, *, fold: bool) -> bool:
    if fold:
        value = value.lower()
        patterns = [p.lower() for p in patterns]
    return any(wildcard_match(pattern, value) for pattern in patterns)


def _statement_applies(statement: dict[str, Any], action: str, resource: str | None) -> bool:
    """Whether ``statement`` speaks of ``action`` on ``resource``; a ``None`` resource
    (one only the service knows) is any resource for an Allow and all of them (``*``)
    for a Deny, so that a check never refuses more than AWS would."""
    if "Condition" in statement:
        return False
    if "Action" in statement:
        if not _matches(_listed(statement["Action"]), action, fold=True):
            return False
    elif "NotAction" in statement:
        if _matches(_listed(statement["NotAction"]), action, fold=True):
            return False
    else:
        return False
    if resource is None:
        if statement.get("Effect") == "Deny":
            return "*" in _listed(statement.get("Resource"))
        return "Resource" in statement or "NotResource" in statement
    if "Resource" in statement:
        return _matches(_listed(statement["Resource"]), resource, fold=False)
    if "NotResource" in statement:
        return not _matches(_listed(statement["NotResource"]), resource, fold=False)
    return False


@functools.lru_cache(maxsize=1024)
def _statements(document: str) -> tuple[dict[str, Any], ...]:
    """The statements of a policy document, parsed once per text (every task of an
    execution evaluates its role's documents); none for text that is not a policy."""
    try:
        parsed = json.loads(document)
    except ValueError:
        return ()
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    listed = statements if isinstance(statements, list) else [statements]
    return tuple(s for s in listed if isinstance(s, dict))


def evaluate(documents: list[str], action: str, resource: str | None) -> bool:
    """Whether identity policies ``documents`` allow ``action`` on ``resource`` (None:
    a resource only the service knows; see ``_statement_applies``)."""
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if _statement_applies(statement, action, resource):
                if statement.get("Effect") == "Deny":
                    return False
                if statement.get("Effect") == "Allow":
                    allowed = True
    return allowed


def _function_arn(request: TaskRequest) -> str | None:
    """The ARN of the Lambda function a task invokes, None for a task that is not one."""
    resource = request.resource
    is_function = (
        resource.startswith("arn:") and ":lambda:" in resource and ":function:" in resource
    )
    if not is_function and not resource.startswith("arn:aws:states:::lambda:invoke"):
        return None
    target = task_target(request)
    if isinstance(target, TaskOutcome):
        return None  # the adapter reports the missing FunctionName
    _, reference, _ = target
    if reference.startswith("arn:"):
        return reference
    name, qualifier = function_name(reference)
    info = request.execution
    arn = f"arn:aws:lambda:{info.region}:{info.account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def assumed_role(role_arn: str) -> str:
    """The caller a service sees when Step Functions calls it with ``role_arn``."""
    parts = role_arn.split(":")
    account = parts[4] if len(parts) > 4 else ""
    role = role_arn.rsplit("/", 1)[-1]
    return f"arn:aws:sts::{account}:assumed-role/{role}/stepfn-session"


def not_authorized(role_arn: str, action: str, resource: str | None) -> str:
    """IAM's words for a refusal: who, the action, the resource, and why."""
    return (
        f"User: {assumed_role(role_arn)} is not authorized to perform: {action} on "
        f"resource: {resource or '*'} because no identity-based policy allows the "
        f"{action} action"
    )


def access_denied(role_arn: str, action: str, resource: str, request_id: str) -> TaskOutcome:
    """The failure of a Lambda task its role may not invoke, as Step Functions shows it."""
    return lambda_failure(
        "AccessDeniedException",
        not_authorized(role_arn, action, resource),
        403,
        request_id,
        error="AWSLambdaException",
    )


@dataclass(frozen=True)
class Need:
    """One permission a task needs: ``action`` on ``resource`` (None: a resource only
    the service knows)."""

    action: str
    resource: str | None


# How a refusal is reported: (role ARN, action, resource, request id) -> the failure.
Refuse = Callable[[str, str, "str | None", str], TaskOutcome]


def _lambda_refusal(role: str, action: str, resource: str | None, request_id: str) -> TaskOutcome:
    return access_denied(role, action, resource or "*", request_id)


# --- optimized integrations and nested executions ---------------------------------------

# service -> (its error code, HTTP status, the modeled shape of the refusal, whether the
# service lowercases the action in its message, as SQS does).
_V1_DENIALS: dict[str, tuple[str, int, str | None, bool]] = {
    "sqs": ("AccessDenied", 403, None, True),
    "sns": ("AuthorizationError", 403, "AuthorizationErrorException", False),
    "dynamodb": ("AccessDeniedException", 400, None, False),
    "events": ("AccessDeniedException", 400, None, False),
    "states": ("AccessDeniedException", 400, None, False),
}
# The optimized Step Functions integration, named as the v1 SDK names its errors.
STATES_V1 = optimized.Service(
    "stepfunctions",
    "StepFunctions",
    "AWSStepFunctions",
    "AWSStepFunctionsException",
    frozenset({"startExecution"}),
    True,
    False,
)
NESTED = re.compile(
    r"^arn:aws[a-z-]*:states:::states:startExecution"
    r"(?P<pattern>\.sync(:2)?|\.waitForTaskToken)?$"
)
SYNC_RULE = "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"


def _v1_refusal(service: optimized.Service, key: str) -> Refuse:
    code, status, modeled, lower = _V1_DENIALS[key]

    def refuse(role: str, action: str, resource: str | None, request_id: str) -> TaskOutcome:
        message = not_authorized(role, action.lower() if lower else action, resource)
        error = AwsCallError(code, message, status, request_id, modeled=modeled)
        return optimized.v1_error(service, error)

    return refuse


def _text(params: Any, key: str) -> str | None:
    value = params.get(key) if isinstance(params, dict) else None
    return value if isinstance(value, str) and value else None


def _arn(service: str, info: ExecutionInfo, rest: str) -> str:
    return f"arn:aws:{service}:{info.region}:{info.account}:{rest}"


def queue_arn(url: str | None, info: ExecutionInfo) -> str | None:
    """The ARN of the queue at ``url`` (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``,
    or a local endpoint's ``/ACCOUNT/NAME``)."""
    if url is None or url.startswith("arn:"):
        return url
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    if len(parts) < 2:
        return None
    host = (parsed.hostname or "").split(".")
    region = host[1] if len(host) >= 3 and host[0] == "sqs" else info.region
    return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"


def table_arn(name: str | None, info: ExecutionInfo) -> str | None:
    """The ARN of the DynamoDB table ``name`` (an ARN already, or a name)."""
    if name is None or name.startswith("arn:"):
        return name
    return _arn("dynamodb", info, f"table/{name}")


def _optimized_needs(request: TaskRequest) -> tuple[list[Need], Refuse] | None:
    parsed = optimized.parse(request.resource)
    if parsed is None:
        return None
    service, action = parsed
    params, info = request.payload, request.execution
    iam_action = f"{service.botocore}:{action[:1].upper()}{action[1:]}"
    if service.botocore == "sqs":
        wanted = [Need(iam_action, queue_arn(_text(params, "QueueUrl"), info))]
    elif service.botocore == "sns":
        wanted = [Need(iam_action, _text(params, "TopicArn") or _text(params, "TargetArn"))]
    elif service.botocore == "dynamodb":
        wanted = [Need(iam_action, table_arn(_text(params, "TableName"), info))]
    else:  # events:putEvents, on each entry's bus
        entries = params.get("Entries") if isinstance(params, dict) else None
        buses = {
            _text(entry, "EventBusName") or "default"
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, dict)
        } or {"default"}
        wanted = [
            Need(
                iam_action,
                bus if bus.startswith("arn:") else _arn("events", info, f"event-bus/{bus}"),
            )
            for bus in sorted(buses)
        ]
    return wanted, _v1_refusal(service, service.botocore)


def _nested_needs(request: TaskRequest) -> tuple[list[Need], Refuse] | None:
    match = NESTED.match(request.resource)
    if match is None:
        return None
    info = request.execution
    machine = _text(request.payload, "StateMachineArn")
    wanted = [Need("states:StartExecution", machine)]
    if (match["pattern"] or "").startswith(".sync") and machine is not None:
        name = machine.rsplit(":", 1)[-1]
        runs = _arn("states", info, f"execution:{name}:{_text(request.payload, 'Name') or '*'}")
        rule = _arn("events", info, SYNC_RULE)
        wanted += [Need(a, runs) for a in ("states:DescribeExecution", "states:StopExecution")]
        wanted += [Need(f"events:{a}", rule) for a in ("PutTargets", "PutRule", "DescribeRule")]
    return wanted, _v1_refusal(STATES_V1, "states")


# --- AWS SDK integrations ----------------------------------------------------------------

# Step Functions' and botocore's service names whose IAM prefix differs.
IAM_PREFIXES = {
    "sfn": "states",
    "stepfunctions": "states",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "elbv2": "elasticloadbalancing",
}


@functools.cache
def _service_id(service: str) -> str:
    import botocore.session

    return str(botocore.session.get_session().get_service_model(service).service_id)


def _sdk_resource(prefix: str, params: Any, info: ExecutionInfo) -> str | None:
    """The resource an SDK call acts on, where its parameters name it plainly."""
    for member in ("StateMachineArn", "ExecutionArn", "TopicArn", "ActivityArn"):
        named = _text(params, member)
        if named:
            return named
    bucket = _text(params, "Bucket")
    if prefix == "s3" and bucket:
        key = _text(params, "Key")
        return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")
    if prefix == "dynamodb":
        return table_arn(_text(params, "TableName"), info)
    if prefix == "sqs":
        return queue_arn(_text(params, "QueueUrl"), info)
    function = _text(params, "FunctionName")
    if prefix == "lambda" and function:
        return (
            function
            if function.startswith("arn:")
            else _arn("lambda", info, f"function:{function}")
        )
    secret = _text(params, "SecretId")
    if prefix == "secretsmanager" and secret and secret.startswith("arn:"):
        return secret
    return None


def _sdk_needs(request: TaskRequest) -> tuple[list[Need], Refuse] | None:
    match = aws_sdk.RESOURCE.match(request.resource)
    if match is None:
        return None
    name, action = match["service"], match["action"]
    try:
        service = botocore_service(name)
    except LookupError:
        return None  # the adapter reports the unknown service
    prefix = IAM_PREFIXES.get(name, IAM_PREFIXES.get(service, service))
    resource = _sdk_resource(prefix, request.payload, request.execution)
    service_id = _service_id(service)

    def refuse(role: str, what: str, on: str | None, request_id: str) -> TaskOutcome:
        if prefix == "s3":  # S3 says only this, with a 403 (its AccessDenied is unmodeled)
            error = AwsCallError("AccessDenied", "Access Denied", 403, request_id, modeled=None)
        else:
            message = not_authorized(role, what, on)
            error = AwsCallError("AccessDeniedException", message, 400, request_id, modeled=None)
        return aws_sdk.sdk_error(service_id, error)

    return [Need(f"{prefix}:{action[:1].upper()}{action[1:]}", resource)], refuse


def needs(request: TaskRequest) -> tuple[list[Need], Refuse] | None:
    """What the task's role must be allowed, and how a refusal reads; None for a task
    that needs nothing of the role (an activity, a resource no integration runs)."""
    arn = _function_arn(request)
    if arn is not None:
        return [Need(INVOKE_FUNCTION, arn)], _lambda_refusal
    for find in (_optimized_needs, _nested_needs, _sdk_needs):
        found = find(request)
        if found is not None:
            return found
    return None


class IamEnforced(Intercepting):
    """A task registry that checks each task against its role, then runs it through the
    registry it wraps."""

    def __init__(self, iam: Iam, inner: Registry) -> None:
        super().__init__(inner)
        self.iam = iam

    def refusal(self, request: TaskRequest) -> TaskOutcome | None:
        """The failure of a task its role may not run; None when it may."""
        required = needs(request)
        if required is None:
            return None
        role_arn = request.execution.role_arn
        documents = self.iam.role_documents(role_arn)
        if documents is None:
            return None  # a role IAM does not know: not checked
        wanted, refuse = required
        for need in wanted:
            if not evaluate(documents, need.action, need.resource):
                return refuse(role_arn, need.action, need.resource, self.iam.ctx.ids.uuid())
        return None

    def intercept(self, request: TaskRequest) -> TaskOutcome | None:
        """The refusal of ``request``, else None: the wrapped registry runs it."""
        return self.refusal(request)
