"""Lambda resource policies: AddPermission, RemovePermission and GetPolicy.

A function (or one of its versions or aliases) has a policy of statements, each added by
AddPermission under its ``StatementId`` and kept in the store (``function_policies``) in
the order added. Statements are written as Lambda writes them (``policy_statement``);
they are recorded and answered, not enforced: stepfn's callers are not AWS services.
Terraform's ``aws_lambda_permission`` creates, reads (GetPolicy) and destroys them.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from stepfn.functions.model import LATEST
from stepfn.service.function_errors import invalid, lambda_error, not_found

if TYPE_CHECKING:
    from stepfn.service.functions import Functions

_SID = re.compile(r"^[a-zA-Z0-9_.-]{1,100}$")
_ACTION = re.compile(r"^(lambda:[*]|lambda:[a-zA-Z]+|[*])$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


def policy_statement(
    sid: str,
    action: str,
    principal: str,
    resource: str,
    *,
    source_arn: str | None = None,
    source_account: str | None = None,
    event_source_token: str | None = None,
    org_id: str | None = None,
    url_auth_type: str | None = None,
) -> dict[str, Any]:
    """A resource policy statement as Lambda writes one for AddPermission: an account id
    becomes its root ARN, ``*`` stays, another ARN is an AWS principal, the rest
    (``s3.amazonaws.com``) a service; the source and org are conditions."""
    if principal == "*":
        who: Any = "*"
    elif _ACCOUNT.match(principal):
        who = {"AWS": f"arn:aws:iam::{principal}:root"}
    elif principal.startswith("arn:"):
        who = {"AWS": principal}
    else:
        who = {"Service": principal}
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": who,
        "Action": action,
        "Resource": resource,
    }
    condition: dict[str, dict[str, str]] = {}
    if source_account:
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = source_account
    if event_source_token:
        condition.setdefault("StringEquals", {})["lambda:EventSourceToken"] = event_source_token
    if org_id:
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = org_id
    if url_auth_type:
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = url_auth_type
    if source_arn:
        condition["ArnLike"] = {"AWS:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    return statement


class FunctionPolicies:
    """The resource policy operations of a ``Functions`` service."""

    def __init__(self, functions: Functions) -> None:
        self.functions = functions

    def _target(self, FunctionName: str, Qualifier: str | None) -> tuple[str, str]:
        """(function name, qualifier or "") of an existing function, version or alias."""
        name, qualifier = self.functions._split(FunctionName, Qualifier)
        self.functions._require(name)
        if qualifier and qualifier != LATEST and self.functions.lookup(name, qualifier) is None:
            raise not_found(f"Function not found: {self.functions._arn(name, qualifier)}")
        return name, qualifier or ""

    def add(
        self,
        FunctionName: str,
        StatementId: str,
        Action: str,
        Principal: str,
        SourceArn: str | None = None,
        SourceAccount: str | None = None,
        EventSourceToken: str | None = None,
        Qualifier: str | None = None,
        PrincipalOrgID: str | None = None,
        FunctionUrlAuthType: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """AddPermission: a statement in the function's (or qualifier's) resource policy.
        A ``StatementId`` already there is ``ResourceConflictException``."""
        name, qualifier = self._target(FunctionName, Qualifier)
        if not _SID.match(StatementId or ""):
            raise invalid(
                f"1 validation error detected: Value '{StatementId}' at 'statementId' failed "
                "to satisfy constraint: Member must satisfy regular expression pattern: "
                "([a-zA-Z0-9-_.]+)"
            )
        if not _ACTION.match(Action or ""):
            raise invalid(
                f"1 validation error detected: Value '{Action}' at 'action' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: "
                "(lambda:[*]|lambda:[a-zA-Z]+|[*])"
            )
        statement = policy_statement(
            StatementId,
            Action,
            Principal,
            self.functions._arn(name, qualifier or None),
            source_arn=SourceArn,
            source_account=SourceAccount,
            event_source_token=EventSourceToken,
            org_id=PrincipalOrgID,
            url_auth_type=FunctionUrlAuthType,
        )
        text = json.dumps(statement, separators=(",", ":"))
        if not self.functions.store.add_function_statement(name, qualifier, StatementId, text):
            raise lambda_error(
                "ResourceConflictException",
                "The statement id (" + StatementId + ") provided already exists. Please "
                "specify a new statement id, or remove the existing statement.",
                409,
            )
        return {"Statement": text}

    def remove(
        self,
        FunctionName: str,
        StatementId: str,
        Qualifier: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """RemovePermission: one statement out; a missing one is ResourceNotFoundException."""
        name, qualifier = self._target(FunctionName, Qualifier)
        if not self.functions.store.remove_function_statement(name, qualifier, StatementId):
            raise not_found(f"Statement {StatementId} is not found in resource policy.")
        return {}

    def get(self, FunctionName: str, Qualifier: str | None = None) -> dict[str, Any]:
        """GetPolicy: the resource policy, or ResourceNotFoundException when it has no
        statement (as Lambda answers for a function nobody was given permission on)."""
        name, qualifier = self._target(FunctionName, Qualifier)
        statements = self.functions.store.function_statements(name, qualifier)
        if not statements:
            raise not_found("The resource you requested does not exist.")
        policy = {
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": [json.loads(text) for _, text in statements],
        }
        text = json.dumps(policy, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        revision = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        return {"Policy": text, "RevisionId": revision}
