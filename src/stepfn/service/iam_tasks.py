"""IAM enforced on tasks: a state machine's role may invoke only what its policies allow.

``IamEnforced`` wraps the Engine's task registry. Before a task reaches its adapter, the
execution's role is looked up in IAM (``Iam.role_documents``): a role IAM does not know
is not checked (state machines made with any role ARN keep working, as in Step Functions
Local); a known role's policies are evaluated as IAM evaluates identity policies: an
explicit ``Deny`` wins, otherwise some ``Allow`` must match the action and the resource
(``*`` and ``?`` wildcards; actions compared without case). Conditions are not
evaluated: a statement with a ``Condition`` is taken as not matching, so that it never
allows more than AWS would.

Lambda tasks are checked (``lambda:InvokeFunction`` on the function's ARN, for function
ARNs and ``lambda:invoke``), and fail as Step Functions reports Lambda's refusal:
``Lambda.AWSLambdaException`` with an ``AccessDeniedException`` cause naming the role,
the action and the resource.
"""

from __future__ import annotations

import json
from typing import Any

from stepfn.service.iam import Iam
from stepfn.tasks.base import (
    NOT_CANCELLABLE,
    Cancel,
    Completion,
    Registry,
    TaskOutcome,
    TaskRequest,
)
from stepfn.tasks.lambda_local import function_name, task_target

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


def _statement_applies(statement: dict[str, Any], action: str, resource: str) -> bool:
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
    if "Resource" in statement:
        return _matches(_listed(statement["Resource"]), resource, fold=False)
    if "NotResource" in statement:
        return not _matches(_listed(statement["NotResource"]), resource, fold=False)
    return False


def evaluate(documents: list[str], action: str, resource: str) -> bool:
    """Whether identity policies ``documents`` allow ``action`` on ``resource``."""
    allowed = False
    for document in documents:
        try:
            parsed = json.loads(document)
        except ValueError:
            continue
        statements = parsed.get("Statement") if isinstance(parsed, dict) else None
        for statement in statements if isinstance(statements, list) else [statements]:
            if not isinstance(statement, dict):
                continue
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


def access_denied(role_arn: str, action: str, resource: str, request_id: str) -> TaskOutcome:
    """The failure of a Lambda task its role may not invoke, as Step Functions shows it."""
    parts = role_arn.split(":")
    account = parts[4] if len(parts) > 4 else ""
    role = role_arn.rsplit("/", 1)[-1]
    who = f"arn:aws:sts::{account}:assumed-role/{role}/stepfn-session"
    return TaskOutcome.failure(
        "Lambda.AWSLambdaException",
        f"User: {who} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action "
        f"(Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; "
        f"Request ID: {request_id}; Proxy: null)",
    )


class IamEnforced(Registry):
    """A task registry that checks each task against its role, then runs it through the
    registry it wraps."""

    def __init__(self, iam: Iam, inner: Registry) -> None:
        super().__init__()
        self.iam = iam
        self.inner = inner

    def refusal(self, request: TaskRequest) -> TaskOutcome | None:
        """The failure of a task its role may not run; None when it may."""
        arn = _function_arn(request)
        if arn is None:
            return None
        role_arn = request.execution.role_arn
        documents = self.iam.role_documents(role_arn)
        if documents is None or evaluate(documents, INVOKE_FUNCTION, arn):
            return None
        return access_denied(role_arn, INVOKE_FUNCTION, arn, self.iam.ctx.ids.uuid())

    def add(self, adapter: Any) -> None:
        """Add an adapter to the wrapped registry."""
        self.inner.add(adapter)

    def prepend(self, adapter: Any) -> None:
        """Add an adapter to the wrapped registry, asked first."""
        self.inner.prepend(adapter)

    def find(self, resource: str) -> Any | None:
        """The wrapped registry's adapter for ``resource``."""
        return self.inner.find(resource)

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """The refusal, or the task's outcome, in this thread."""
        return self.refusal(request) or self.inner.invoke(request)

    def start(self, request: TaskRequest, done: Completion) -> Cancel:
        """Refuse at once, or start the task through the wrapped registry."""
        refused = self.refusal(request)
        if refused is None:
            return self.inner.start(request, done)
        done(refused)
        return NOT_CANCELLABLE

    def close(self) -> None:
        """Close the wrapped registry."""
        self.inner.close()
